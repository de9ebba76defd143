"""How a month's rows travel to COPY: the mirror's CSV as it is, a Parquet month as COPY text.

The mirror's files are CSV, so their bytes go to COPY unchanged (header line first). A Parquet
month is rendered by us, so it uses COPY's text format: no quotes for the server to track and
no header, which costs a yellow month's COPY backend about a tenth less CPU than the same rows
as CSV (docs/performance.md). Its lines are then the file's rows, numbered from 1.
"""

from dataclasses import dataclass

from psycopg import sql


@dataclass(frozen=True)
class CopyFormat:
    """One wire format: COPY's options for it and how its errors number the rows."""

    name: str  # COPY's FORMAT
    header: bool  # the stream's first line names the columns
    line_noun: str  # what an error calls a line of the stream: the file's "line" or "row"
    whole_lines: bool  # every chunk ends at a line's end (a Parquet batch), so needs no recut

    def options(self, first_stream: bool, freeze: bool = False) -> sql.Composable:
        """COPY's options for a stream: only the first stream of a CSV month gets the header."""
        options: list[sql.Composable] = [sql.SQL("FORMAT {}").format(sql.SQL(self.name))]
        if self.header:
            options.append(
                sql.SQL("HEADER {}").format(sql.SQL("true" if first_stream else "false"))
            )
        if freeze:
            options.append(sql.SQL("FREEZE true"))
        return sql.SQL(", ").join(options)


CSV = CopyFormat("csv", header=True, line_noun="line", whole_lines=False)
TEXT = CopyFormat("text", header=False, line_noun="row", whole_lines=True)
