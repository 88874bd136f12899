"""Helpers shared by the event readers: lepton choice, event limits and input paths."""

from __future__ import annotations

import warnings
from numbers import Integral

import numpy as np

from .._files import event_file as existing_file
from ..events import check_events

__all__ = [
    "FLAVOURS",
    "FLAVOUR_NAMES",
    "particle_name",
    "pair_name",
    "lepton_pair",
    "check_max_events",
    "existing_file",
    "finish_selection",
    "refuse_no_selection",
    "one_line",
    "selection_hint",
    "SkippedEventsWarning",
]

# Charged leptons only: the "positive first" ordering needs the PDG sign convention, in which a
# negative id is the antiparticle (positive charge) for leptons.
FLAVOURS = {"e": 11, "mu": 13, "tau": 15}
FLAVOUR_NAMES = {pid: name for name, pid in FLAVOURS.items()}


class SkippedEventsWarning(UserWarning):
    """A reader skipped events that do not have the leptons asked for (the message counts them
    per reason; ``return_info=True`` returns the counts)."""


def particle_name(pid: int) -> str:
    return FLAVOUR_NAMES[abs(pid)] + ("+" if pid < 0 else "-")


def pair_name(pair: tuple[int, int]) -> str:
    return f"{particle_name(pair[0])} {particle_name(pair[1])}"


def lepton_pair(lepton) -> tuple[int, int]:
    """``(positive_id, negative_id)`` for the ``lepton`` argument of :func:`load_lhe`."""
    hint = (
        "Pass lepton='mu', 'e' or 'tau', an unsigned PDG id (13, 11, 15), or a pair of signed "
        "ids, one antilepton and one lepton, e.g. (-11, 13) for e+ mu-."
    )
    if isinstance(lepton, str):
        key = lepton.lower()
        if key not in FLAVOURS:
            raise ValueError(f"Unknown lepton {lepton!r}. {hint}")
        return -FLAVOURS[key], FLAVOURS[key]
    if isinstance(lepton, Integral) and not isinstance(lepton, bool):
        pid = abs(int(lepton))
        if pid not in FLAVOUR_NAMES:
            raise ValueError(f"PDG id {lepton} is not a charged lepton (11, 13, 15). {hint}")
        return -pid, pid
    if isinstance(lepton, tuple | list) and len(lepton) == 2:
        ids = [int(i) for i in lepton if isinstance(i, Integral) and not isinstance(i, bool)]
        if len(ids) != 2 or any(abs(i) not in FLAVOUR_NAMES for i in ids):
            raise ValueError(f"lepton={lepton!r} is not a pair of charged-lepton ids. {hint}")
        positive = [i for i in ids if i < 0]
        negative = [i for i in ids if i > 0]
        if len(positive) != 1:
            raise ValueError(
                f"lepton={lepton!r} has two leptons of the same charge; the pair needs one "
                f"antilepton (negative id, positive charge) and one lepton. {hint}"
            )
        return positive[0], negative[0]
    raise ValueError(f"lepton must be a name, a PDG id or a pair of ids, got {lepton!r}. {hint}")


def selection_hint(selection, flavours: tuple[int, int], skipped: dict[str, int],
                   note: str = "") -> tuple[str, str]:
    """(why events were skipped, what was looked for and how to select others) for the counts
    ``skipped`` of a lepton ``selection`` (a ``LeptonSelection``, or None when the particles are
    read as they are) of the ``flavours`` pair; ``note`` adds a clause on what counts as a
    lepton."""
    detail = ", ".join(f"{n} with {r}" for r, n in skipped.items() if n) or "none skipped"
    if selection is None:
        return detail, "return_info=True gives the counts."
    n = selection.n_leptons
    name = pair_name(flavours)
    what = (f"{'an' if name[0] == 'e' else 'a'} {name} pair" if n == 2
            else f"{n} leptons, {n // 2} {particle_name(flavours[0])} and {n // 2} "
                 f"{particle_name(flavours[1])}")
    extra = selection.reasons()[-1]
    more = ("; pair='leading' or 'closest' (--pair) also take the events with more leptons"
            if selection.pair == "exclusive" and skipped.get(extra) else "")
    return detail, (f"Looked for {what}, {selection}{note}{more}; return_info=True gives the "
                    "counts.")


def check_max_events(max_events) -> int | None:
    if max_events is None:
        return None
    if isinstance(max_events, Integral) and not isinstance(max_events, bool) and max_events >= 1:
        return int(max_events)
    raise ValueError(
        f"max_events must be None (read all events) or an int >= 1, got {max_events!r}."
    )


def one_line(exc: BaseException, limit: int = 200) -> str:
    """A library's error message (uproot's, pyarrow's, pandas' span lines) as one short line."""
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit] + " ..."


def refuse_no_selection(where: str, n_read: int, n_selected: int, detail: str, hint: str):
    """A ValueError when a file had no event, or no event that passed the selection."""
    if n_read == 0:
        raise ValueError(f"{where} contains no events (0 entries read).")
    if n_selected == 0:
        raise ValueError(
            f"{where} has no event with the leptons asked for in its {n_read} events read: "
            f"{detail}. {hint}"
        )


def finish_selection(
    where: str, blocks: list, n_read: int, n_selected: int, detail: str, hint: str,
    *, stacklevel: int = 3,
):
    """The selected events of all chunks, checked; a SkippedEventsWarning counting the skipped
    events,
    a ValueError when none (or no event at all) was read (:func:`refuse_no_selection`).

    ``detail`` says why events were skipped (counts per reason), ``hint`` how to select others.
    """
    refuse_no_selection(where, n_read, n_selected, detail, hint)
    n_skipped = n_read - n_selected
    if n_skipped:
        warnings.warn(
            f"Skipped {n_skipped} of {n_read} events of {where}: {detail}. {hint}",
            SkippedEventsWarning,
            stacklevel=stacklevel,
        )
    X = np.concatenate(blocks)
    try:
        return check_events(X)
    except ValueError as exc:
        raise ValueError(f"{where} has unusable four-momenta: {exc}") from exc
