"""Go's parsing and formatting rules, where the docker CLI's output depends on them.

One home for each rule, so that every module that needs one gets the same
answer as the CLI's Go code:

* :func:`format_float`: ``fmt.Sprint(float64)`` and ``%v``, how the CLI
  writes a float it turns into a string (labels, ``extra_hosts`` errors).
"""

from __future__ import annotations

import decimal
import math

__all__ = ["format_float"]


def format_float(value: float) -> str:
    """``fmt.Sprint(value)`` for a float64: ``1e+06``, ``123456.7``, ``1e-05``, ``-0``, ``+Inf``."""
    # strconv.FormatFloat(v, 'g', -1, 64): the shortest digits that read back
    # as v, in exponent form when the decimal exponent is < -4 or >= 6.
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    sign, digits, exponent = decimal.Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(str(d) for d in digits)
    exp = len(text) - 1 + exponent
    prefix = "-" if sign else ""
    if exp < -4 or exp >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if exp < 0:
        return f"{prefix}0.{'0' * (-exp - 1)}{text}"
    if len(text) <= exp + 1:
        return prefix + text + "0" * (exp + 1 - len(text))
    return f"{prefix}{text[: exp + 1]}.{text[exp + 1 :]}"
