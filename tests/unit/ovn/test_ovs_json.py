"""python-ovs's C JSON parser, linked from Debian's python3-openvswitch by `make venv`: it is there,
and it reads OVSDB's JSON as the pure-Python parser it replaces does."""

from __future__ import annotations

import json
import sysconfig
from pathlib import Path

import ovs.json
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

DEBIAN = Path("/usr/lib/python3/dist-packages/ovs", "_json" + sysconfig.get_config_var("EXT_SUFFIX"))

# JSON as ovsdb-server sends it: strings (any text), 64-bit integers, finite reals, booleans,
# null, arrays and objects. Subnormal reals are left out: OVS's C parser refuses them ("number
# outside valid range", strtod's ERANGE) where the Python one reads them; no NB column ovnet
# reads holds a real.
SCALARS = (st.text() | st.integers(-(2**63), 2**63 - 1) | st.booleans() | st.none()
           | st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=False))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
                      max_leaves=20)


def _parse(text: str, parser: str, mp: pytest.MonkeyPatch) -> object:
    mp.setattr(ovs.json, "PARSER", parser)
    p = ovs.json.Parser()
    for i in range(0, len(text), 7):  # fed in pieces, as jsonrpc feeds what each recv gave
        p.feed(text[i:i + 7])
    return p.finish()


def test_the_venv_has_debians_c_parser_when_python3_openvswitch_is_installed():
    if not DEBIAN.exists():
        pytest.skip(f"{DEBIAN} is missing (python3-openvswitch, for this Python's ABI): python-ovs parses in pure Python")
    assert ovs.json.PARSER == ovs.json.PARSER_C, "make venv did not link Debian's ovs._json into the venv"


@settings(max_examples=40, deadline=None)
@given(VALUES)
def test_c_and_python_parsers_agree(value):
    if ovs.json.PARSER != ovs.json.PARSER_C:
        pytest.skip("no C parser in this venv (see the test above)")
    text = json.dumps({"result": value}, separators=(",", ":"))
    with pytest.MonkeyPatch.context() as mp:
        c = _parse(text, ovs.json.PARSER_C, mp)
        py = _parse(text, ovs.json.PARSER_PY, mp)
    assert c == py
