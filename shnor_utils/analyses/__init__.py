"""The analyses of the product, one sub-package each with the same files:

    analysis.py  its `SPEC` (`shnor_utils.indicators.registry.Analysis`)
    compute.py   its producers: dataset → tidy indicator rows
    present.py   what its templates show: tables, findings, rule notes, its own charts

`ALL` is the one list of analyses: indicators, the Excel workbook, the index page and the school
passport read it. Adding an analysis = its folder + one line here (README, «Как добавить анализ»).
The order matters only for postprocessors (they run after every producer, in this order).
"""
from __future__ import annotations

from shnor_utils.analyses.context.analysis import SPEC as CONTEXT
from shnor_utils.analyses.dynamics.analysis import SPEC as DYNAMICS
from shnor_utils.analyses.gia.analysis import SPEC as GIA
from shnor_utils.analyses.objectivity.analysis import SPEC as OBJECTIVITY
from shnor_utils.analyses.risk_profiles.analysis import SPEC as RISK_PROFILES
from shnor_utils.analyses.shnor.analysis import SPEC as SHNOR
from shnor_utils.analyses.teachers.analysis import SPEC as TEACHERS
from shnor_utils.indicators.compute import compute_indicators
from shnor_utils.methodology import Methodology, load_methodology

ALL = (OBJECTIVITY, GIA, SHNOR, CONTEXT, RISK_PROFILES, TEACHERS, DYNAMICS)


def compute_all(dataset, methodology: Methodology | None = None, only: list[str] | None = None, analyses=None):
    """Every indicator of every analysis (or of the analyses with ids in `only`) over the dataset."""
    return compute_indicators(dataset, methodology or load_methodology(), ALL if analyses is None else analyses, only)


def by_id(analysis_id: str, analyses=None):
    """The spec of one analysis by its id."""
    for a in ALL if analyses is None else analyses:
        if a.id == analysis_id:
            return a
    raise KeyError(analysis_id)
