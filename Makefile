# The README's two commands: `make demo` (the main job) and `make test` (the whole test-suite).
# Both set up what they need themselves, idempotently: Debian packages, then a virtualenv.

VENV    ?= .venv
PY      := $(VENV)/bin/python
DEBS    := openvswitch-switch ovn-central ovn-host iproute2 ethtool iputils-ping procps \
           postgresql busybox-static docker.io qemu-system-x86 libvirt-clients libxml2-utils \
           chromium chromium-driver systemd \
           podman catatonit containerd containernetworking-plugins python3-openvswitch
STAMP   := $(VENV)/.installed

# python-ovs parses OVSDB's JSON in pure Python unless its C parser, ovs._json, is importable:
# ~8x slower, the largest cost of a replica of 10,000 NB ports. PyPI's ovs is a pure-Python
# wheel and building the parser needs libopenvswitch headers, which Debian 12 does not package;
# Debian's python3-openvswitch ships the parser built. Link it into the venv's ovs package when
# the venv's Python has its extension ABI; otherwise python-ovs keeps its pure-Python parser.
OVS_CJSON := import ovs, pathlib, sysconfig; \
	name = "_json" + sysconfig.get_config_var("EXT_SUFFIX"); \
	src = pathlib.Path("/usr/lib/python3/dist-packages/ovs", name); \
	dst = pathlib.Path(ovs.__file__).with_name(name); \
	dst.unlink(missing_ok=True); \
	src.exists() and dst.symlink_to(src); \
	print("python-ovs JSON parser:", "C, from Debian" if src.exists() else f"pure Python (no {src})")

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

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	$(PY) -c '$(OVS_CJSON)'
	touch $(STAMP)

clean:
	rm -rf $(VENV) *.egg-info
