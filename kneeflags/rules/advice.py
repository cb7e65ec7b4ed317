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

from kneeflags.findings import CLINICIAN_REMINDER
from kneeflags.records import record


@record(frozen=True)
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
        "rtr.itbs_start",
        "Coming back from IT band pain, first pass the checks (a pain-free single-leg squat "
        "with no hip drop, pain-free walking downhill and down stairs), then start at 30–50 % "
        "of the distance at which the pain came on.",
        "Return to Running After ITBS (Criteria; Return protocol)",
    ),
    Advice(
        "rtr.itbs_build",
        "Lengthen runs by 10–15 % at a time, and only after a run that stayed pain-free: "
        "measure from the run you actually did, not from the previous limit.",
        "Return to Running After ITBS (Return protocol)",
    ),
    Advice(
        "rtr.pfps_build",
        "Coming back from kneecap pain, run flat and easy at a clearly reduced volume for "
        "two weeks while you strengthen; after two pain-free weeks in a row, add no more "
        "than 10 % a week.",
        "Return to Running After PFPS (Return protocol); Priority 2: Load Management",
    ),
    Advice(
        "rtr.flat_first",
        "Keep to flat routes while you return: downhill and stairs come back after 2–3 weeks "
        "for kneecap pain, and hills only after 3–4 pain-free weeks of flat running for IT "
        "band pain.",
        "Return to Running After PFPS; Return to Running After ITBS",
    ),
    Advice(
        "rtr.speed_last",
        "Leave intervals and fast sessions out until the end of the return: for kneecap pain "
        "typically 4–6 weeks after pain-free flat running is established.",
        "Return to Running After PFPS (Return protocol)",
    ),
    Advice(
        "rtr.pain_monitoring",
        "Pain up to about 3/10 during a run that has settled by the next morning is "
        "acceptable; pain above 5/10, or worse the next morning, means stepping back one "
        "phase.",
        "Priority 2: Load Management (pain below 4/10, not worse afterwards); evidence.md §7",
    ),
    Advice(
        "rtr.onset_distance",
        "Your pain comes on at a fairly consistent distance: stay below it while you rehabilitate.",
        "IT Band Syndrome — Treatment (load management first)",
    ),
    Advice(
        "rtr.cross_train",
        "Cycling, pool running or rowing keep your fitness without taking the knee through "
        "the IT band's friction angle.",
        "IT Band Syndrome — Treatment (reduce IT band friction zones)",
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
