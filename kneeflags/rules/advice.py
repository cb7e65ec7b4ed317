"""Advice lines, in the project's own words, each traced to the guide section it comes from.

The source is ``../shared/guide/000_e0047ab08f4e7705.txt`` ("Runner's Knee & IT Band
Syndrome Guide"). The texts keep the guide's facts (numbers, exercises, order of return)
and drop its wording. One deliberate omission: the guide's "2–3× more load" for downhill
running is not repeated, because the evidence base (evidence.md §2) finds it unsupported at
road grades; the advice keeps the guide's instruction (introduce downhill gradually).

Rules refer to these texts by key (:attr:`Rule.advice_keys`); the clinician reminder that
ends every report is :data:`kneeflags.findings.CLINICIAN_REMINDER`.
"""

from __future__ import annotations

from dataclasses import dataclass

from kneeflags.findings import CLINICIAN_REMINDER


@dataclass(frozen=True, slots=True)
class Advice:
    """One advice line and where in the guide it comes from."""

    key: str
    text: str
    guide_section: str


_ITEMS: tuple[Advice, ...] = (
    Advice(
        "volume.ten_percent",
        "Let your weekly running distance grow by no more than about 10 % from one week to "
        "the next.",
        "Prevention: Keeping Both Conditions at Bay — Progressive mileage increases",
    ),
    Advice(
        "volume.itbs_jump",
        "Outer-knee (IT band) pain often shows up after a big step up in weekly volume; "
        "build in smaller steps.",
        "IT Band Syndrome — Why Runners Get ITBS (contributing factors)",
    ),
    Advice(
        "volume.pain_distance",
        "If knee pain comes on at a predictable distance, keep your runs shorter than that "
        "distance while you rehabilitate.",
        "IT Band Syndrome — Treatment (load management first)",
    ),
    Advice(
        "volume.pfps_cutback",
        "With pain around the kneecap, drop to a volume you can run without significant "
        "pain, hold it for two weeks while you strengthen, then build back up.",
        "Patellofemoral Pain Syndrome — Treatment, Priority 2: Load Management",
    ),
    Advice(
        "downhill.gradual",
        "Bring downhill running in gradually: it loads the knee more than flat running at "
        "the same pace.",
        "Prevention: Keeping Both Conditions at Bay — Progressive mileage increases",
    ),
    Advice(
        "downhill.avoid_when_symptomatic",
        "While the knee hurts, leave downhill running out until flat running is pain-free.",
        "IT Band Syndrome — Treatment (reduce IT band friction zones); PFPS — Priority 2",
    ),
    Advice(
        "downhill.hills_last",
        "After knee pain, hills and downhill running come back last: for IT band pain only "
        "after 3–4 weeks of pain-free flat running, for kneecap pain typically 4–6 weeks.",
        "Return to Running After ITBS; Return to Running After PFPS",
    ),
    Advice(
        "downhill.camber",
        "On cambered roads, run on the flat centre of the path: the downhill leg takes more "
        "load through the IT band.",
        "IT Band Syndrome — Why Runners Get ITBS; Treatment (reduce friction zones)",
    ),
    Advice(
        "cadence.target",
        "A cadence of about 170–180 steps per minute puts less load on the kneecap joint "
        "than a lower cadence.",
        "Prevention: Keeping Both Conditions at Bay — Cadence monitoring",
    ),
    Advice(
        "cadence.raise",
        "To raise cadence, take shorter, quicker steps, aiming for 5–10 % more steps per "
        "minute, and get there gradually.",
        "IT Band Syndrome — Treatment (gait correction)",
    ),
    Advice(
        "cadence.monitor",
        "A watch that records cadence makes it easy to keep an eye on it run by run.",
        "Prevention: Keeping Both Conditions at Bay — Cadence monitoring",
    ),
    Advice(
        "cadence.overstride",
        "Overstriding raises braking force and the load on the kneecap joint; at the same "
        "speed, fewer steps per minute mean longer steps.",
        "Patellofemoral Pain Syndrome — Why Runners Get PFPS (contributing factors)",
    ),
    Advice(
        "strength.two_sessions",
        "Plan two strength sessions a week: weak hip muscles drive both kneecap pain and "
        "IT band pain.",
        "Prevention: Keeping Both Conditions at Bay — Two strength sessions per week",
    ),
    Advice(
        "strength.exercises",
        "Cover hip abductors (side-lying leg raises, clamshells, hip hikes), glutes "
        "(single-leg deadlifts, glute bridges, hip thrusts), quadriceps (squats, step-ups, "
        "terminal knee extensions) and hip external rotators (clamshells, seated rotation "
        "against a band).",
        "Prevention: Keeping Both Conditions at Bay — Two strength sessions per week",
    ),
    Advice(
        "always.clinician",
        CLINICIAN_REMINDER,
        "Introduction (general educational guidance)",
    ),
)

ADVICE: dict[str, Advice] = {a.key: a for a in _ITEMS}
"""Advice by key."""


def advice_lines(keys: tuple[str, ...]) -> tuple[str, ...]:
    """The texts for ``keys``, in order (KeyError on an unknown key: a catalogue bug)."""
    return tuple(ADVICE[k].text for k in keys)
