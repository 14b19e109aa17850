# The README's two commands: `make demo` (the main job) and `make test` (the whole test-suite).
# Both set up what they need themselves, idempotently: Debian packages, then a virtualenv.

VENV    ?= .venv
PY      := $(VENV)/bin/python
DEBS    := openvswitch-switch ovn-central ovn-host iproute2 ethtool iputils-ping procps \
           postgresql busybox-static docker.io qemu-system-x86 libvirt-clients libxml2-utils \
           chromium chromium-driver systemd \
           podman catatonit containerd containernetworking-plugins
STAMP   := $(VENV)/.installed

.PHONY: demo test setup debs venv clean

demo: setup
	$(VENV)/bin/ovnet up
	$(VENV)/bin/ovnet demo

test: setup
	$(VENV)/bin/pytest $(PYTEST_ARGS)

setup: debs venv

debs:
	@missing=$$(for p in $(DEBS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) *.egg-info
