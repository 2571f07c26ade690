"""Kubernetes resource quantities ("5", "500m", "1.5k", "128Mi") as the HPA reads them: milli-units.

`milli()` is apimachinery's Quantity.MilliValue() (rounds up), `from_float()` is what the
Prometheus Adapter and KEDA do with a sample value (int64(value * 1000), truncated), and
`format_milli()` prints a milli-value the way resource.NewMilliQuantity(v, DecimalSI) does.
"""
from __future__ import annotations

import math
import re
from decimal import ROUND_CEILING, Decimal, InvalidOperation

_SUFFIX = {
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
    "k": Decimal("1e3"), "M": Decimal("1e6"), "G": Decimal("1e9"), "T": Decimal("1e12"),
    "P": Decimal("1e15"), "E": Decimal("1e18"),
    "Ki": Decimal(2**10), "Mi": Decimal(2**20), "Gi": Decimal(2**30), "Ti": Decimal(2**40),
    "Pi": Decimal(2**50), "Ei": Decimal(2**60),
}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:[eE]([+-]?\d+))?(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


class QuantityError(ValueError):
    pass


def parse(text: str | int | float) -> Decimal:
    """The exact value of a quantity string (or a YAML number)."""
    s = str(text).strip()
    m = _QUANTITY.match(s)
    if not m:
        raise QuantityError(f"not a Kubernetes quantity: {text!r}")
    number, exponent, suffix = m.group(1), m.group(2), m.group(3) or ""
    try:
        value = Decimal(number)
    except InvalidOperation as e:  # pragma: no cover - the regex admits only numbers
        raise QuantityError(f"not a Kubernetes quantity: {text!r}") from e
    if exponent is not None:
        if suffix:
            raise QuantityError(f"not a Kubernetes quantity (exponent and suffix): {text!r}")
        value = value.scaleb(int(exponent))
    return value * _SUFFIX[suffix]


def milli(text: str | int | float) -> int:
    """Quantity.MilliValue(): ceil(value * 1000)."""
    return int((parse(text) * 1000).to_integral_value(rounding=ROUND_CEILING))


def approx_float(text: str | int | float) -> float:
    """Quantity.AsApproximateFloat64()."""
    return float(parse(text))


def from_float(value: float) -> int | None:
    """The quantity prometheus-adapter's metricFor makes of a sample value: 0 for NaN (as the
    adapter does: histogram_quantile over no requests is NaN), else
    resource.NewMilliQuantity(int64(value*1000), DecimalSI). None for +-Inf, whose int64 Go leaves
    undefined: the lab treats it as no value for that object."""
    if math.isnan(value):
        return 0
    if math.isinf(value):
        return None
    v = int(value * 1000.0)  # Go's int64(float) truncates toward zero
    return max(INT64_MIN, min(INT64_MAX, v))


def format_milli(value: int) -> str:
    """NewMilliQuantity(value, DecimalSI).String(): 500m, 5, 20k."""
    if value % 1000:
        return f"{value}m"
    whole = value // 1000
    for suffix in ("", "k", "M", "G", "T", "P"):
        if whole == 0 or whole % 1000 or suffix == "P":
            return f"{whole}{suffix}"
        whole //= 1000
    return f"{whole}E"  # pragma: no cover
