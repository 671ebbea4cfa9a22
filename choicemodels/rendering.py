r"""Tables of results as text, HTML, LaTeX, CSV and Markdown.

A :class:`Summary` holds labelled data, not formatted strings: a title, lines that span
the width (the formula), pairs of facts shown in two columns (the model, the fit
statistics), tables as ``pandas.DataFrame`` and notes. It renders on demand:

* numbers in text, HTML, LaTeX and Markdown follow statsmodels' summaries
  (:func:`statsmodels.iolib.summary.forg`): fixed decimals between :math:`10^{-4}` and
  :math:`10^4`, significant figures outside (``-3.2e-05``, never ``-0.0000``),
  p-values with three decimals;
* text, HTML and LaTeX tables are laid out by statsmodels'
  :class:`~statsmodels.iolib.table.SimpleTable` (LaTeX needs the ``booktabs`` package);
* CSV keeps every number at full precision, so it reads back exactly.

statsmodels is imported inside the rendering functions (about 10 ms once the package is
loaded), so importing choicemodels does not pay for it.
"""

from __future__ import annotations

import html
import io
import numbers
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = ["Summary", "Table", "forg", "format_value"]

Kind = Literal["coef", "stat", "pvalue", "count", "auto"]
"""How a column's numbers are written: ``"coef"`` forg with 4 decimals, ``"stat"`` forg
with 3 (standard errors, z, intervals, as statsmodels), ``"pvalue"`` three decimals,
``"count"`` integers, ``"auto"`` by the value's type (floats as ``"coef"``)."""

_WIDTH = 78  # minimum width of the text form
_WIDE = 88  # text tables wider than this do not set the width of the others
_MIN_COL = 9  # minimum width of a number column in the text form
_LATEX_ESCAPES = {"#": r"\#", "$": r"\$", "%": r"\%", "&": r"\&", ">": "$>$", "<": "$<$",
                  "_": r"\_", "|": "$|$", "~": r"\~{}", "^": r"\^{}"}


def forg(x: float, prec: int = 4) -> str:
    """statsmodels' ``forg``, stripped: ``prec`` decimals, or ``prec`` significant figures
    when ``|x|`` is below 1e-4 or at least 1e4; also significant figures where ``prec``
    decimals would show a non-zero number as zero (statsmodels writes -0.0003 as ``-0.000``
    with ``prec=3``).

    >>> forg(-3.2e-05), forg(0.12345678), forg(123456.0, 3), forg(-0.0003, 3)
    ('-3.2e-05', '0.1235', '1.23e+05', '-0.0003')
    """
    from statsmodels.iolib.summary import forg as sm_forg

    x = float(x)
    text = sm_forg(x, prec=prec).strip()
    if x != 0 and np.isfinite(x) and float(text) == 0:
        return f"{x:.{prec}g}"
    return text


def format_value(value: Any, kind: Kind = "auto", na_rep: str = "") -> str:
    """One cell as text: numbers by ``kind`` (see ``Kind``), strings unchanged."""
    if value is None:
        return na_rep
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        x = float(value)
        if np.isnan(x):
            return na_rep
        if kind == "pvalue":
            return f"{x:.3f}"
        if kind == "count" and x == round(x):
            return f"{x:.0f}"
        return forg(x, 3 if kind == "stat" else 4)
    return str(value)


@dataclass(frozen=True, eq=False)
class Table:
    """A titled table: a DataFrame and how its columns are written.

    One of the ``Summary.tables``; the parameters are also the attributes of the same
    names. The data stay numbers; :meth:`cells` writes them as text.

    Parameters
    ----------
    title : str
        Shown above the table (``""`` for none).
    frame : pandas.DataFrame
        The data: rows are labelled by the index (the stub column, headed by the index's
        name), columns by the header; a MultiIndex is joined with ``" | "``.
    kinds : mapping of column to {"coef", "stat", "pvalue", "count", "auto"}, optional
        How each column's numbers are written (see ``Kind``); other columns ``"auto"``.
    na_rep : str, default ""
        Text of a missing number (None or NaN).

    Examples
    --------
    >>> import pandas as pd
    >>> from choicemodels.rendering import Table
    >>> frame = pd.DataFrame({"coef": [-0.0109, -3.2e-05], "P>|z|": [0.0172, 2e-19]},
    ...                      index=pd.Index(["gc", "ttme"], name="variable"))
    >>> t = Table("Coefficients", frame, {"P>|z|": "pvalue"})
    >>> t.stub_header, t.stubs, t.headers
    ('variable', ['gc', 'ttme'], ['coef', 'P>|z|'])
    >>> t.cells()
    [['-0.0109', '0.017'], ['-3.2e-05', '0.000']]
    """

    title: str
    frame: pd.DataFrame
    kinds: Mapping[Any, Kind] = field(default_factory=dict)
    na_rep: str = ""

    @property
    def stubs(self) -> list[str]:
        """The row labels as text (the levels of a MultiIndex joined with ``" | "``)."""
        index = self.frame.index
        if isinstance(index, pd.MultiIndex):
            return [" | ".join(map(str, i)) for i in index]
        return [str(i) for i in index]

    @property
    def stub_header(self) -> str:
        """The index's name, shown above the row labels."""
        names = [n for n in self.frame.index.names if n is not None]
        return " | ".join(map(str, names))

    @property
    def headers(self) -> list[str]:
        """The column labels as text (the levels of a MultiIndex joined with ``" | "``)."""
        cols = self.frame.columns
        if isinstance(cols, pd.MultiIndex):
            return [" | ".join(map(str, c)) for c in cols]
        return [str(c) for c in cols]

    def cells(self) -> list[list[str]]:
        """The body as text, each number written by its column's kind (``format_value``).

        Returns
        -------
        list of list of str
            One list per row of ``frame``, one string per column.

        Examples
        --------
        >>> import pandas as pd
        >>> from choicemodels.rendering import Table
        >>> frame = pd.DataFrame({"n": [58, 30], "share": [0.27619, float("nan")]}, index=["air", "bus"])
        >>> Table("", frame, {"n": "count"}, na_rep="nan").cells()
        [['58', '0.2762'], ['30', 'nan']]
        """
        kinds = [self.kinds.get(c, "auto") for c in self.frame.columns]
        return [
            [format_value(v, k, self.na_rep) for v, k in zip(row, kinds)]
            for row in self.frame.itertuples(index=False, name=None)
        ]


def _simple_table(data: list[list[str]], headers: list[str] | None, stubs: list[str], title: str = "",
                  stub_header: str = ""):
    from statsmodels.iolib.table import SimpleTable

    if not data or not data[0]:  # SimpleTable needs at least one cell
        data = [[""] for _ in stubs] or [[""]]
        stubs = stubs or [""]
    table = SimpleTable(data, headers, stubs, title=title)
    if headers and stub_header:
        table[0][0].data = stub_header  # the empty cell above the row labels, formatted
        table[0][0]._datatype = "stub"  # as they are (statsmodels' table_extend does the same)
    return table


def _text_lines(data, headers, stubs, width: int, aligns: str = "r", stub_header: str = "") -> list[str]:
    """Rows of a text table padded to ``width`` (extra space goes after the stub column)."""
    ncol = len(data[0]) if data else 0
    widths = [max([len(s) for s in stubs] + [len(stub_header)])]
    for j in range(ncol):
        col = [row[j] for row in data] + ([headers[j]] if headers else [])
        widths.append(max([_MIN_COL] + [len(c) for c in col]))
    natural = sum(widths) + 2 * ncol
    widths[0] += max(0, width - natural)
    table = _simple_table(data, headers, stubs, stub_header=stub_header)
    text = table.as_text(colwidths=widths, colsep="  ", table_dec_above=None, table_dec_below=None,
                         header_align="r", data_aligns=aligns, header_dec_below="-")
    return [line.rstrip() for line in text.split("\n")]


def _natural_width(data, headers, stubs, stub_header: str = "") -> int:
    ncol = len(data[0]) if data else 0
    total = max([len(s) for s in stubs] + [len(stub_header)])
    for j in range(ncol):
        col = [row[j] for row in data] + ([headers[j]] if headers else [])
        total += 2 + max([_MIN_COL] + [len(c) for c in col])
    return total


def _pairs_rows(left: Sequence[tuple[str, str]], right: Sequence[tuple[str, str]]) -> tuple[list[str], list[list[str]]]:
    """Two columns of (label, value) pairs as the rows of a 4-column table."""
    n = max(len(left), len(right))
    left = list(left) + [("", "")] * (n - len(left))
    right = list(right) + [("", "")] * (n - len(right))
    stubs = [f"{k}:" if k else "" for k, _ in left]
    data = [[lv, f"{rk}:" if rk else "", rv] for (_, lv), (rk, rv) in zip(left, right)]
    return stubs, data


@dataclass(frozen=True, eq=False)
class Summary:
    """A printable summary: ``print(s)``, ``s.as_text()``, ``as_html()``, ``as_latex()``,
    ``as_csv()``, ``as_markdown()``; shown as a table at the console and in notebooks.

    Returned by the ``summary()`` methods of the results (:meth:`ChoiceResults.summary
    <choicemodels.ChoiceResults.summary>`, :meth:`Comparison.summary
    <choicemodels.Comparison.summary>`, ...). It holds labelled data, not formatted
    strings, and renders on demand; the parameters are also the attributes of the same
    names.

    Parameters
    ----------
    title : str
        The heading.
    info : tuple of (str, str) pairs, optional
        (label, value) facts shown in two columns: ``info`` on the left and
        ``info_right`` on the right; without ``info_right`` the pairs are split in half.
    tables : tuple of Table, optional
        The tables, in order (:class:`~choicemodels.rendering.Table`).
    notes : tuple of str, optional
        Sentences printed below the tables, numbered.
    lead : tuple of (str, str) pairs, optional
        (label, value) pairs shown on full-width lines under the title (the formula).
    info_right : tuple of (str, str) pairs, optional
        The right column of facts (see ``info``).

    Examples
    --------
    >>> import pandas as pd
    >>> from choicemodels.rendering import Summary, Table
    >>> frame = pd.DataFrame({"coef": [-0.0109, -0.0955], "P>|z|": [0.0172, 2e-19]},
    ...                      index=["gc", "ttme"])
    >>> s = Summary("Example", info=(("Situations", "210"), ("Log-likelihood", "-189.5252")),
    ...             tables=(Table("Coefficients", frame, {"P>|z|": "pvalue"}),),
    ...             notes=("A note.",))
    >>> print(s)  # doctest: +NORMALIZE_WHITESPACE
                                       Example
    ==============================================================================
    Situations:                                    210  Log-likelihood:  -189.5252
    ==============================================================================
                                     Coefficients
                                                                   coef      P>|z|
    ------------------------------------------------------------------------------
    gc                                                          -0.0109      0.017
    ttme                                                        -0.0955      0.000
    ==============================================================================
    Notes:
    [1] A note.
    >>> s.table is frame
    True
    """

    title: str
    info: tuple[tuple[str, str], ...] = ()
    tables: tuple[Table, ...] = ()
    notes: tuple[str, ...] = ()
    lead: tuple[tuple[str, str], ...] = ()
    info_right: tuple[tuple[str, str], ...] = ()

    @property
    def table(self) -> pd.DataFrame:
        """The first table's data (the coefficients of a fitted model); empty without tables."""
        return self.tables[0].frame if self.tables else pd.DataFrame()

    def _columns(self) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
        if self.info_right:
            return self.info, self.info_right
        half = (len(self.info) + 1) // 2
        return self.info[:half], self.info[half:]

    # ---- text ---------------------------------------------------------------------
    def as_text(self) -> str:
        """Fixed-width text, statsmodels' layout, at least 78 characters wide.

        Tables up to 88 characters wide share the width of the widest of them; a wider
        one keeps its own width rather than stretching the others.

        Returns
        -------
        str
            The title, the facts, the tables and the numbered notes, one line each
            (long notes wrapped); no trailing newline.

        Examples
        --------
        >>> import pandas as pd
        >>> from choicemodels.rendering import Summary, Table
        >>> t = Table("", pd.DataFrame({"coef": [1.5, -3.2e-05]}, index=["x1", "x2"]))
        >>> text = Summary("Example", tables=(t,)).as_text()
        >>> print(text)  # doctest: +NORMALIZE_WHITESPACE
                                           Example
        ==============================================================================
                                                                                  coef
        ------------------------------------------------------------------------------
        x1                                                                      1.5000
        x2                                                                    -3.2e-05
        ==============================================================================
        >>> {len(line) for line in text.splitlines()[1:]}
        {78}
        """
        left, right = self._columns()
        stubs_i, data_i = _pairs_rows(left, right) if (left or right) else ([], [])
        parts = [(t.cells(), t.headers, t.stubs, t.stub_header) for t in self.tables]
        natural = [_natural_width(*p) for p in parts]
        head = _natural_width(data_i, None, stubs_i) if data_i else 0
        width = max([_WIDTH, head] + [w for w in natural if w <= _WIDE])
        lines = [self.title.center(width).rstrip(), "=" * width]
        for label, value in self.lead:
            lines += textwrap.wrap(f"{label}: {value}", width, subsequent_indent="    ") or [""]
        if data_i:
            lines += _text_lines(data_i, None, stubs_i, width, aligns="rlr")
        if self.lead or data_i:
            lines.append("=" * width)
        for table, (data, headers, stubs, stub_header), w in zip(self.tables, parts, natural):
            w = max(w, width)
            if table.title:
                lines.append(table.title.center(w).rstrip())
            body = _text_lines(data, headers, stubs, w, stub_header=stub_header) if stubs else ["(none)"]
            lines += body + ["=" * w]
        if self.notes:
            lines.append("Notes:")
            for i, note in enumerate(self.notes, start=1):
                lines += textwrap.wrap(note, width, initial_indent=f"[{i}] ", subsequent_indent="    ")
        return "\n".join(lines)

    # ---- HTML ---------------------------------------------------------------------
    def as_html(self) -> str:
        """HTML tables (text escaped), one per part, with the notes as a list.

        Returns
        -------
        str
            An ``<h4>`` title, a ``<table>`` for the facts and one per table (its title as
            the ``<caption>``), and the notes as an ``<ol>``; what notebooks show.

        Examples
        --------
        >>> import pandas as pd
        >>> from choicemodels.rendering import Summary, Table
        >>> t = Table("Coefficients", pd.DataFrame({"P>|z|": [0.0172]}, index=["gc"]), {"P>|z|": "pvalue"})
        >>> html = Summary("Example", tables=(t,), notes=("A note.",)).as_html()
        >>> print(html.splitlines()[0])
        <h4>Example</h4>
        >>> "<th>P&gt;|z|</th>" in html, "<td>0.017</td>" in html
        (True, True)
        >>> html.splitlines()[-1]
        '<p>Notes:</p><ol><li>A note.</li></ol>'
        """
        esc = html.escape
        out = [f"<h4>{esc(self.title)}</h4>"]
        out += [f"<p><b>{esc(k)}:</b> <code>{esc(v)}</code></p>" for k, v in self.lead]
        left, right = self._columns()
        if left or right:
            stubs, data = _pairs_rows(left, right)
            out.append(_html_table([[esc(c) for c in r] for r in data], None, [esc(s) for s in stubs], ""))
        for t in self.tables:
            data = [[esc(c) for c in r] for r in t.cells()]
            out.append(_html_table(data, [esc(h) for h in t.headers], [esc(s) for s in t.stubs], esc(t.title),
                                   esc(t.stub_header)))
        if self.notes:
            out.append("<p>Notes:</p><ol>" + "".join(f"<li>{esc(n)}</li>" for n in self.notes) + "</ol>")
        return "\n".join(out)

    # ---- LaTeX --------------------------------------------------------------------
    def as_latex(self) -> str:
        r"""LaTeX: one ``tabular`` per part (``booktabs`` rules), titles in bold, notes as text.

        Returns
        -------
        str
            LaTeX source to paste into a document that loads the ``booktabs`` package;
            special characters (``_``, ``%``, ``|``, ...) are escaped.

        Examples
        --------
        >>> import pandas as pd
        >>> from choicemodels.rendering import Summary, Table
        >>> t = Table("", pd.DataFrame({"coef": [1.5]}, index=["hinc:air"]))
        >>> print(Summary("Example", tables=(t,)).as_latex())  # doctest: +NORMALIZE_WHITESPACE
        \begin{center}\textbf{Example}\end{center}
        \begin{center}
        \begin{tabular}{lc}
        \toprule
                          & \textbf{coef}  \\
        \midrule
        \textbf{hinc:air} &     1.5000     \\
        \bottomrule
        \end{tabular}
        \end{center}
        """
        out = [rf"\begin{{center}}\textbf{{{_latex_text(self.title)}}}\end{{center}}"]
        out += [rf"\noindent {_latex_text(k)}: \texttt{{{_latex_text(v)}}}\par" for k, v in self.lead]
        left, right = self._columns()
        if left or right:
            stubs, data = _pairs_rows(left, right)
            out.append(_simple_table(data, None, stubs).as_latex_tabular(
                replacements=_LATEX_ESCAPES, data_aligns="rlr", stub="%s"))
        for t in self.tables:
            if t.title:
                out.append(rf"\begin{{center}}\textbf{{{_latex_text(t.title)}}}\end{{center}}")
            if t.stubs:
                out.append(_simple_table(t.cells(), t.headers, t.stubs, stub_header=t.stub_header)
                           .as_latex_tabular(replacements=_LATEX_ESCAPES))
        if self.notes:
            items = "\n".join(rf"\item {_latex_text(n)}" for n in self.notes)
            out.append("\\noindent Notes:\n\\begin{enumerate}\n" + items + "\n\\end{enumerate}")
        return "\n".join(out)

    # ---- CSV ----------------------------------------------------------------------
    def as_csv(self) -> str:
        """CSV blocks separated by blank lines, each headed by its title on a line of its own.

        The first block is ``statistic,value`` (the formula and the two columns of
        facts); then one block per table with the numbers at full precision. A block
        reads back with ``pandas.read_csv(io.StringIO(block), skiprows=1, index_col=0)``.

        Returns
        -------
        str
            The blocks, each ending with a newline, separated by blank lines; the notes, if
            any, are the last block (``Notes``, then a ``note`` column).

        Examples
        --------
        >>> import io
        >>> import pandas as pd
        >>> from choicemodels.rendering import Summary, Table
        >>> t = Table("Coefficients", pd.DataFrame({"P>|z|": [2e-19]}, index=["gc"]))
        >>> csv = Summary("Example", info=(("Situations", "210"),), tables=(t,)).as_csv()
        >>> print(csv)
        Example
        statistic,value
        Situations,210
        <BLANKLINE>
        Coefficients
        ,P>|z|
        gc,2e-19
        <BLANKLINE>
        >>> float(pd.read_csv(io.StringIO(csv.split("\\n\\n")[1]), skiprows=1, index_col=0).iloc[0, 0])
        2e-19
        """
        blocks = []
        left, right = self._columns()
        facts = list(self.lead) + list(left) + list(right)
        if facts:
            frame = pd.DataFrame({"value": [v for _, v in facts]},
                                 index=pd.Index([k for k, _ in facts], name="statistic"))
            blocks.append(_csv_block(self.title, frame))
        for i, t in enumerate(self.tables):
            blocks.append(_csv_block(t.title or f"table {i + 1}", t.frame))
        if self.notes:
            notes = pd.DataFrame({"note": list(self.notes)})
            blocks.append("Notes\n" + notes.to_csv(index=False, lineterminator="\n"))
        return "\n".join(blocks)

    # ---- Markdown -----------------------------------------------------------------
    def as_markdown(self) -> str:
        """GitHub-flavoured Markdown: a heading, pipe tables, the notes as a numbered list.

        Returns
        -------
        str
            Markdown ending with a newline; ``|`` in the text is escaped.

        Examples
        --------
        >>> import pandas as pd
        >>> from choicemodels.rendering import Summary, Table
        >>> t = Table("Coefficients", pd.DataFrame({"P>|z|": [0.0172]}, index=["gc"]), {"P>|z|": "pvalue"})
        >>> print(Summary("Example", tables=(t,), notes=("A note.",)).as_markdown())
        ### Example
        <BLANKLINE>
        **Coefficients**
        <BLANKLINE>
        |  | P>\\|z\\| |
        |---|---:|
        | gc | 0.017 |
        <BLANKLINE>
        1. A note.
        <BLANKLINE>
        """
        out = [f"### {_md(self.title)}", ""]
        out += [f"**{_md(k)}:** `{v}`  " for k, v in self.lead]
        if self.lead:
            out.append("")
        left, right = self._columns()
        if left or right:
            stubs, data = _pairs_rows(left, right)
            out += _md_table(data, [""] * len(data[0]), stubs, pairs=True)
            out.append("")
        for t in self.tables:
            if t.title:
                out += [f"**{_md(t.title)}**", ""]
            out += _md_table(t.cells(), t.headers, t.stubs, stub_header=t.stub_header)
            out.append("")
        for i, note in enumerate(self.notes, start=1):
            out.append(f"{i}. {_md(note)}")
        return "\n".join(out).rstrip() + "\n"

    # ---- display ------------------------------------------------------------------
    def __str__(self) -> str:
        """The summary as text (``print(s)``).

        Returns
        -------
        str
            :meth:`as_text`.
        """
        return self.as_text()

    def __repr__(self) -> str:
        """The summary as text, so that the console shows the tables.

        Returns
        -------
        str
            :meth:`as_text`.
        """
        return self.as_text()

    def _repr_html_(self) -> str:
        return self.as_html()



class PrintsAsSummary:
    """Mixin of the result objects: they print as their ``summary()`` (a :class:`Summary`),
    as text at the console and as HTML in Jupyter. Dataclasses using it pass ``repr=False``."""

    def summary(self) -> Summary:  # pragma: no cover - supplied by every subclass
        raise NotImplementedError

    def __str__(self) -> str:
        """The summary as text (``print(x)``; the console shows the same).

        Returns
        -------
        str
            ``self.summary().as_text()``.
        """
        return self.summary().as_text()

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return self.summary().as_html()


def _html_table(data, headers, stubs, title: str, stub_header: str = "") -> str:
    if not stubs:
        return f"<p>{title}: (none)</p>" if title else ""
    text = _simple_table(data, headers, stubs, title=title, stub_header=stub_header).as_html()
    return text.replace('<table class="simpletable">', "<table>", 1)


def _latex_text(text: str) -> str:
    for old in sorted(_LATEX_ESCAPES):  # the order SimpleTable applies them in
        text = text.replace(old, _LATEX_ESCAPES[old])
    return text


def _csv_block(title: str, frame: pd.DataFrame) -> str:
    frame = frame.copy()
    if isinstance(frame.columns, pd.MultiIndex):
        frame.columns = [" | ".join(map(str, c)) for c in frame.columns]
    buf = io.StringIO()
    frame.to_csv(buf, lineterminator="\n")
    return f"{title}\n{buf.getvalue()}"


def _md(text: str) -> str:
    return str(text).replace("|", r"\|")


def _md_table(data, headers, stubs, pairs: bool = False, stub_header: str = "") -> list[str]:
    if not stubs:
        return ["(none)"]
    ncol = len(data[0]) if data else 0
    head = "| " + " | ".join([_md(stub_header)] + [_md(h) for h in headers]) + " |"
    rule = "|" + "|".join(["---"] + ["---:"] * ncol) + "|"
    if pairs:  # label/value pairs: labels left, values right
        rule = "|---|---:|---|---:|"
    rows = ["| " + " | ".join([_md(s)] + [_md(c) for c in r]) + " |" for s, r in zip(stubs, data)]
    return [head, rule] + rows
