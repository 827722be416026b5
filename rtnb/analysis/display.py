"""Tables that keep missing values as data but show them as blank cells.

The analysis frames hold ``NaN`` (no number: a typed turn has no transcript time) and ``None``
(no value: a message has no tool) as pandas does, so ``isna``, ``dropna`` and arithmetic work as
usual. Shown as text, those would read ``NaN`` in one cell and ``None`` in the next; what is
missing should look empty. :class:`BlankFrame` is a :class:`pandas.DataFrame` whose notebook
display (``_repr_html_``), ``repr``, ``to_string`` and ``to_html`` leave such cells blank;
selections, ``head``, ``copy`` and the like stay :class:`BlankFrame`, and its columns are
:class:`BlankSeries`, shown the same way. :func:`html_table`
renders any frame the same way for a widget (for example an ``ipywidgets.HTML``).

The notebook display and ``repr`` of a :class:`BlankFrame` also format for reading
(:func:`display_text`), without touching the data: milliseconds (``*_ms``) as whole numbers
(one decimal below 10), seconds (``t``) with one decimal, other whole floats without ``.0``,
dicts and lists as JSON, long ids shortened to their prefix and last characters, and text
columns left-aligned in HTML.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_float_dtype, is_numeric_dtype

BLANK = ""
"""What a missing value shows as."""

_CLASS_NAME = re.compile(r"-?[A-Za-z_][A-Za-z0-9_-]*")


def blank_missing(frame: pd.DataFrame) -> pd.DataFrame:
    """A plain copy of ``frame`` for display, every missing value (``None``, ``NaN``, ``NA``,
    ``NaT``) as a float ``NaN`` (pandas writes ``None`` and ``<NA>`` literally whatever its
    ``na_rep``, but ``NaN`` as ``na_rep``). Float columns are kept as they are, so they keep
    their common number of decimals."""
    shown = pd.DataFrame(frame, copy=True)
    for position in range(shown.shape[1]):
        shown.isetitem(position, _blank_series(shown.iloc[:, position]))
    return shown


def _blank_series(series: pd.Series) -> pd.Series:
    """A plain copy of ``series``, every missing value as ``NaN`` (see :func:`blank_missing`)."""
    shown = pd.Series(series, copy=True)
    if is_float_dtype(shown.dtype) or not shown.isna().any():
        return shown
    return shown.astype(object).where(shown.notna(), np.nan)


ID_KEEP = 6
"""How many last characters of a long id the display keeps (after its ``item_``-like prefix)."""
_tables = itertools.count()


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # lists, dicts, arrays
        return False


def _ms(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 or value == 0 else f"{value:.1f}"


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _short_id(value: str) -> str:
    prefix = value[: value.index("_") + 1] if "_" in value[:12] else ""
    if len(value) <= len(prefix) + ID_KEEP + 2:
        return value
    return f"{prefix}…{value[-ID_KEEP:]}"


def _text(value: Any) -> str:
    if isinstance(value, (dict, list, tuple)):
        try:
            return json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def display_formatter(name: Any, series: pd.Series) -> Callable[[Any], str]:
    """How a column's values read in the display (see the module docstring); missing: blank."""
    label = str(name)
    if label.endswith("_ms") and is_float_dtype(series.dtype):
        shown: Callable[[Any], str] = _ms
    elif label in ("t", "time") and is_float_dtype(series.dtype):
        shown = "{:.1f}".format
    elif is_float_dtype(series.dtype):
        shown = _number
    elif label == "id" or label.endswith("_id"):
        shown = lambda v: _short_id(v) if isinstance(v, str) else _text(v)  # noqa: E731
    else:
        shown = _text

    def cell(value: Any) -> str:
        if _missing(value):
            return BLANK
        if isinstance(value, float) and not math.isfinite(value):
            return str(value)
        return shown(value)

    return cell


def display_text(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as the text the display shows, cell by cell (same index and columns)."""
    shown = pd.DataFrame(index=frame.index)
    for position in range(frame.shape[1]):
        series = frame.iloc[:, position]
        cell = display_formatter(frame.columns[position], series)
        shown[position] = [cell(value) for value in series]
    shown.columns = frame.columns
    return shown


def _is_text(series: pd.Series) -> bool:
    """A column of words (left-aligned), not of numbers."""
    return not (is_numeric_dtype(series.dtype) or is_bool_dtype(series.dtype))


class BlankSeries(pd.Series):
    """A column of a :class:`BlankFrame`: a :class:`pandas.Series` whose ``repr`` and
    ``to_string`` show missing values blank, as the frame does."""

    @property
    def _constructor(self) -> type[BlankSeries]:
        return BlankSeries

    @property
    def _constructor_expanddim(self) -> type[BlankFrame]:
        return BlankFrame

    def to_string(self, *args: Any, na_rep: str = BLANK, **kwargs: Any) -> str | None:
        """:meth:`pandas.Series.to_string`, missing values written as ``na_rep``."""
        return pd.Series.to_string(_blank_series(self), *args, na_rep=na_rep, **kwargs)


class BlankFrame(pd.DataFrame):
    """A :class:`pandas.DataFrame` shown with blank cells where values are missing.

    Only the text changes: the notebook display (``_repr_html_``), ``repr``/``print``,
    ``to_string`` and ``to_html`` write missing values as ``na_rep`` (default blank, ``None``
    included, which pandas itself always writes as ``None``); the data keep their
    ``NaN``/``None`` (``frame.isna()`` is as for any DataFrame) and ``to_csv``/``to_json`` are
    pandas' own. Wrap any frame (``BlankFrame(frame)``) to show it this way;
    ``pd.DataFrame(blank_frame)`` gives a plain one back.
    """

    @property
    def _constructor(self) -> type[BlankFrame]:
        return BlankFrame

    _constructor_sliced = BlankSeries

    def to_string(self, *args: Any, na_rep: str = BLANK, **kwargs: Any) -> str | None:
        """:meth:`pandas.DataFrame.to_string`, missing values written as ``na_rep``."""
        return pd.DataFrame.to_string(blank_missing(self), *args, na_rep=na_rep, **kwargs)

    def to_html(self, *args: Any, na_rep: str = BLANK, **kwargs: Any) -> str | None:
        """:meth:`pandas.DataFrame.to_html`, missing values written as ``na_rep``."""
        return pd.DataFrame.to_html(blank_missing(self), *args, na_rep=na_rep, **kwargs)

    def __repr__(self) -> str:
        return str(
            pd.DataFrame.to_string(
                display_text(self),
                max_rows=pd.get_option("display.max_rows"),
                min_rows=pd.get_option("display.min_rows"),
                max_cols=pd.get_option("display.max_columns"),
                max_colwidth=pd.get_option("display.max_colwidth"),
                line_width=pd.get_option("display.width"),
                show_dimensions=pd.get_option("display.show_dimensions"),
            )
        )

    def _repr_html_(self) -> str | None:
        if not pd.get_option("display.notebook_repr_html"):
            return None
        name = f"rtnb-frame-{next(_tables)}"
        table = pd.DataFrame.to_html(
            display_text(self),
            max_rows=pd.get_option("display.max_rows"),
            max_cols=pd.get_option("display.max_columns"),
            show_dimensions=pd.get_option("display.show_dimensions"),
            notebook=True,
            classes=["rtnb-frame", name],
        )
        # Words read from the left (JupyterLab right-aligns every cell); the index is column 1.
        columns = [
            position + 2 for position in range(self.shape[1]) if _is_text(self.iloc[:, position])
        ]
        limit = pd.get_option("display.max_columns")
        if not columns or (limit and self.shape[1] > limit):  # "..." would shift the columns
            return table
        cells = ", ".join(
            f"table.{name} td:nth-child({n}), table.{name} thead th:nth-child({n})" for n in columns
        )
        return f"<style>{cells} {{ text-align: left; }}</style>{table}"


def html_table(
    frame: pd.DataFrame,
    *,
    classes: str | Iterable[str] = (),
    index: bool = False,
    float_format: str | None = None,
) -> str:
    """``frame`` as an HTML ``<table>`` for a widget: values escaped, missing values blank.

    ``classes`` are added to the table's ``class`` (``rtnb-table`` is always there);
    ``float_format`` (a ``str.format`` pattern such as ``"{:.0f}"``) formats float cells;
    ``index=True`` keeps the row labels.
    """
    names = [classes] if isinstance(classes, str) else list(classes)
    for name in names:
        if not _CLASS_NAME.fullmatch(name):
            raise ValueError(f"classes: {name!r} is not a CSS class name")
    html = BlankFrame(frame).to_html(
        index=index,
        float_format=None if float_format is None else float_format.format,
        classes=["rtnb-table", *names],
        border=0,
        escape=True,
    )
    assert html is not None  # no ``buf``: pandas returns the text
    return html
