"""`canonical_json` is RFC 8785: equal to the reference implementation on any JSON value."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.canonical import canonical_json

# Strings that stress the escapes: controls, quotes, backslashes, DEL, non-ASCII, astral.
TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from('\x00\x01\x08\t\n\x0b\x0c\r\x1f"\\/\x7f\u00e9\u2028\u20ac\U0001f600'),
        st.characters(blacklist_categories=("Cs",)),
    ),
    max_size=12,
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
    max_leaves=20,
)


@settings(max_examples=1500)
@given(VALUES)
def test_equals_the_reference_on_any_json_value(value: Any) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


def test_known_forms() -> None:
    assert canonical_json({"b": 1, "a": "é\n\x1f", "c": [True, None]}) == (
        b'{"a":"\xc3\xa9\\n\\u001f","b":1,"c":[true,null]}'
    )
    # Floats and non-ASCII keys go to the reference implementation.
    assert canonical_json({"x": 1.0, "é": 1e21}) == b'{"x":1,"\xc3\xa9":1e+21}'


@pytest.mark.parametrize("value", [float("nan"), 2**53, -(2**53)])
def test_refuses_what_jcs_cannot_represent(value: Any) -> None:
    with pytest.raises(rfc8785.CanonicalizationError):
        canonical_json({"value": value})
