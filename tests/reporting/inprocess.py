"""A report rendered without a kernel, for tests of the HTML it makes: the template's cells executed in
this process, their displays collected as notebook outputs, then `batch.render.to_html` as in a batch."""
from __future__ import annotations

import contextlib
import io
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent.parent


def outputs_of(template: str, *, dataset: Path, scope: str, entity_id: str, year: int | None = None,
               methodology: str | None = None) -> list:
    """The display outputs of one template run in this process (HTML, SVG)."""
    import IPython.display as ipd

    nb = nbformat.read(ROOT / "notebooks" / "templates" / f"{template}.ipynb", as_version=4)
    outputs: list = []

    def capture(*objs, raw=False, **_):
        for obj in objs:
            data = obj if raw else {"text/html": obj.data} if isinstance(obj, ipd.HTML) else None
            if data is None and hasattr(obj, "_repr_mimebundle_"):
                data = obj._repr_mimebundle_()[0]
            outputs.append(nbformat.v4.new_output("display_data", data=data))

    saved, ipd.display = ipd.display, capture
    ns: dict = {}
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            for cell in nb.cells:
                if cell.cell_type != "code":
                    continue
                exec(compile(cell.source, f"<{template}>", "exec"), ns)
                if "parameters" in (cell.metadata.get("tags") or []):
                    ns.update(dataset=str(dataset), scope=scope, entity_id=entity_id, cache=None)
                    if year is not None:
                        ns["year"] = year
                    if methodology is not None:
                        ns["methodology"] = methodology
    finally:
        ipd.display = saved
    return outputs


def render(template: str, **kw) -> str:
    """The report's HTML page (as `shnor run` writes it) from an in-process run."""
    from shnor_utils.batch.render import to_html

    nb = nbformat.v4.new_notebook()
    # the template's own metadata (title, layout) stays in an executed notebook, as papermill keeps it
    template_nb = nbformat.read(ROOT / "notebooks" / "templates" / f"{template}.ipynb", as_version=4)
    nb.metadata["shnor"] = template_nb.metadata.get("shnor", {})
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = outputs_of(template, **kw)
    nb.cells = [cell]
    return to_html(nb, template)
