"""Tables that keep missing values as data but show them as blank cells.

The analysis frames hold ``NaN`` (no number: a typed turn has no transcript time) and ``None``
(no value: a message has no tool) as pandas does, so ``isna``, ``dropna`` and arithmetic work as
usual. Shown as text, those would read ``NaN`` in one cell and ``None`` in the next; what is
missing should look empty. :class:`BlankFrame` is a :class:`pandas.DataFrame` whose notebook
display (``_repr_html_``), ``repr``, ``to_string`` and ``to_html`` leave such cells blank;
selections, ``head``, ``copy`` and the like stay :class:`BlankFrame`, and its columns are
:class:`BlankSeries`, shown the same way. :func:`html_table`
renders any frame the same way for a widget (for example an ``ipywidgets.HTML``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_float_dtype

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
            self.to_string(
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
        return self.to_html(
            max_rows=pd.get_option("display.max_rows"),
            max_cols=pd.get_option("display.max_columns"),
            show_dimensions=pd.get_option("display.show_dimensions"),
            float_format=pd.get_option("display.float_format"),
            notebook=True,
        )


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
