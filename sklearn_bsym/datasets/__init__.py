"""Event data: the built-in generator and the readers/writers of event files (LHE, ROOT,
parquet, CSV)."""

from __future__ import annotations

from ._columns import mass_note
from ._common import SkippedEventsWarning
from ._generator import (
    ETA_MAX,
    MASS_MIN,
    PT_MIN,
    REFERENCE_PERCENTILES,
    REFERENCE_QUANTILES,
    REFERENCE_RAPIDITY_STD,
    Z_MASS,
    Z_WIDTH,
    background_mass_pdf,
    boson_pt_pdf,
    cos_theta_pdf,
    lo_acceptance,
    make_dimuon_events,
    mass_pdf,
    rapidity_pdf,
    signal_mass_pdf,
)
from ._io import (
    EVENT_SUFFIXES,
    EventChunk,
    EventChunks,
    event_file_suffix,
    load_event_file,
    load_events,
    load_lhe,
    make_labelled_dataset,
    read_event_chunks,
    save_events,
)
from ._root import load_root
from ._select import LEPTON_MASSES, PAIR_MODES

__all__ = [
    "make_dimuon_events",
    "signal_mass_pdf",
    "background_mass_pdf",
    "mass_pdf",
    "rapidity_pdf",
    "cos_theta_pdf",
    "boson_pt_pdf",
    "lo_acceptance",
    "Z_MASS",
    "Z_WIDTH",
    "MASS_MIN",
    "PT_MIN",
    "ETA_MAX",
    "REFERENCE_PERCENTILES",
    "REFERENCE_QUANTILES",
    "REFERENCE_RAPIDITY_STD",
    "load_lhe",
    "load_root",
    "load_event_file",
    "load_events",
    "save_events",
    "make_labelled_dataset",
    "read_event_chunks",
    "EventChunks",
    "EventChunk",
    "PAIR_MODES",
    "LEPTON_MASSES",
    "SkippedEventsWarning",
    "EVENT_SUFFIXES",
    "event_file_suffix",
    "mass_note",
]
