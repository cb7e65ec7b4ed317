"""The rule catalogue as data (rules.md version 1).

Each :class:`Rule` says what it measures, how, with which thresholds, why and on what
evidence. The numbers themselves live in :class:`kneeflags.config.Config` (section
``[rules.<id>]``), so a threshold has exactly one home; the catalogue names the config
fields and formats them, which is how ``kneeflags rules`` prints the thresholds in force.

:data:`RULES` is ordered as in rules.md. A renderer (``kneeflags rules``, ruff-style) can
print, per rule: ``id``, ``name``, ``measures``, ``computation``, :meth:`Rule.threshold_lines`
(``[eng]`` marks engineering defaults with no published cut-off), ``parameter_lines``,
``conditions``, ``rationale``, ``reference``, ``example`` and the advice keys
(texts in :mod:`kneeflags.rules.advice`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from kneeflags.config import Config
from kneeflags.findings import Condition, Severity
from kneeflags.records import record

Scope = Literal["week", "run", "athlete"]


@record(frozen=True)
class Threshold:
    """One severity level: a comparison template over config fields of the rule's section."""

    severity: Severity
    text: str
    """Format template over the rule's config fields, e.g. ``"> {watch_pct:g} %"``."""
    source: str
    """Where the number comes from (``guide``, ``Nielsen 2014``...)."""
    engineering: bool = False
    """True for ``[eng]`` values: no published cut-off, tune in config."""

    def render(self, values: dict[str, Any]) -> str:
        mark = " [eng]" if self.engineering else ""
        return f"{self.severity}: {self.text.format(**values)} ({self.source}){mark}"


@record(frozen=True)
class Parameter:
    """A further tunable of a rule (minimum rise, window length...)."""

    field: str
    description: str
    unit: str
    engineering: bool = True


@record(frozen=True)
class Rule:
    """One rule of rules.md; see the module docstring for how it is rendered."""

    id: str
    name: str
    scope: Scope
    """``week`` (one verdict per local week), ``run`` (per run) or ``athlete``."""
    measures: str
    computation: str
    unit: str
    conditions: tuple[Condition, ...]
    thresholds: tuple[Threshold, ...]
    parameters: tuple[Parameter, ...]
    rationale: str
    reference: str
    advice_keys: tuple[str, ...]
    example: str
    guide_quote: str = ""
    """The guide's own words the rule enforces (return-to-run rules quote their section)."""

    @property
    def config_section(self) -> str:
        """TOML section holding this rule's numbers."""
        return f"rules.{self.id}"

    def settings(self, config: Config | None = None) -> Any:
        """This rule's threshold record in ``config`` (defaults when ``None``)."""
        return (config or Config()).rules.for_rule(self.id)

    def threshold_lines(self, config: Config | None = None) -> list[str]:
        values = dataclasses.asdict(self.settings(config))
        return [t.render(values) for t in self.thresholds]

    def parameter_lines(self, config: Config | None = None) -> list[str]:
        values = dataclasses.asdict(self.settings(config))
        return [
            f"{p.field} = {values[p.field]:g} {p.unit}: {p.description}"
            + (" [eng]" if p.engineering else "")
            for p in self.parameters
        ]


_BOTH: tuple[Condition, ...] = ("ITBS", "PFPS")
_PFPS_FIRST: tuple[Condition, ...] = ("PFPS", "ITBS")

RULES: tuple[Rule, ...] = (
    Rule(
        id="volume-jump",
        name="Weekly volume jump",
        scope="week",
        measures="How much a week's running distance rises above the recent level.",
        computation=(
            "week's running km vs baseline = max(previous week, mean of the previous 4 "
            "weeks); the rise must also be at least min_rise_km. A return to an "
            "established level after a cut-back week is not a jump, because the 4-week "
            "mean remembers the level. The first running week after break_weeks or more "
            "weeks without running is a return, said in words and judged against the level "
            "before the break (watch above return_watch_pct, high above return_high_pct of "
            "it). No percentage is computed against a baseline under 1 km."
        ),
        unit="% above baseline",
        conditions=_BOTH,
        thresholds=(
            Threshold("watch", "> {watch_pct:g} %", "guide"),
            Threshold("high", "> {high_pct:g} %", "Nielsen 2014"),
        ),
        parameters=(
            Parameter("min_rise_km", "smaller rises are never a jump", "km"),
            Parameter("baseline_weeks", "weeks averaged for the baseline", "weeks", False),
            Parameter("break_weeks", "empty weeks that make the next week a return", "weeks"),
            Parameter("return_watch_pct", "return week vs the pre-break level: watch", "%"),
            Parameter("return_high_pct", "return week vs the pre-break level: high", "%"),
        ),
        rationale=(
            "The guide caps weekly increases at about 10 % and notes that ITBS commonly "
            "follows a significant jump in weekly volume, and that rapid mileage increases "
            "load the kneecap joint before it adapts. In 874 GPS-tracked novices, weekly "
            "progression above 30 % went with more distance-related injuries, a group that "
            "named PFPS and ITBS (HR 1.59, 95 % CI 0.96–2.66). The 10 % rule itself has no "
            "outcome evidence (Buist 2008), so > 10 % is a watch, not an alarm."
        ),
        reference=(
            "Guide (Prevention: no more than 10 % per week; ITBS contributing factors); "
            "Nielsen et al. 2014, JOSPT 44:739–747; Damsted et al. 2019, JOSPT 49:230–238"
        ),
        advice_keys=("volume.ten_percent", "volume.itbs_jump", "volume.pfps_cutback"),
        example="Week of 26 Jan 2026: 50.0 km, up 39 % on the 36.0 km baseline.",
    ),
    Rule(
        id="session-spike",
        name="Single-run spike",
        scope="run",
        measures="A run's distance against the longest run of the previous 30 days.",
        computation=(
            "distance ÷ longest run in the 30 days before it − 1; evaluated only when the "
            "data reaches back the full 30 days and holds an earlier run in them (else the "
            "baseline is unknown, not zero). Treadmill runs count."
        ),
        unit="% above the 30-day longest run",
        conditions=_BOTH,
        thresholds=(
            Threshold("watch", "> {watch_pct:g} %", "Frandsen 2025, HRR 1.64"),
            Threshold("high", "> {high_pct:g} %", "Frandsen 2025, HRR 2.28"),
        ),
        parameters=(Parameter("window_days", "look-back window", "days", False),),
        rationale=(
            "In 5,205 Garmin users, a session more than 10 % longer than the longest run of "
            "the previous 30 days raised the overuse-injury rate (HRR 1.64 for 10–30 %, "
            "1.52 for 30–100 %, 2.28 above 100 %). This is the primary load signal; "
            "week-to-week ratios showed no association in the same data."
        ),
        reference="Frandsen et al. 2025, BJSM 59:1203–1210",
        advice_keys=("volume.ten_percent", "volume.pain_distance"),
        example=(
            "Run on Tue 27 Jan 2026: 21.1 km, 76 % longer than the longest run of the "
            "previous 30 days (12.0 km)."
        ),
    ),
    Rule(
        id="downhill-share",
        name="Downhill share",
        scope="week",
        measures="The share of a week's running distance spent going downhill.",
        computation=(
            "downhill km (grade ≤ −5 % on the 5 m-resampled, smoothed profile) ÷ km of "
            "runs with a usable elevation profile. Treadmill runs and runs without "
            "elevation make the share unknown, never 0 %."
        ),
        unit="% of running distance",
        conditions=_BOTH,
        thresholds=(
            Threshold("watch", "≥ {watch_pct:g} %", "no published cut-off", True),
            Threshold("high", "≥ {high_pct:g} %", "no published cut-off", True),
        ),
        parameters=(),
        rationale=(
            "The guide lists downhill running among the causes of both conditions. Downhill "
            "the knee lands straighter, nearer the ~20–30° angle where the IT band is "
            "irritated (Orchard 1996), and the quadriceps brake eccentrically with larger "
            "impact and braking peaks (Gottschall & Kram 2005). The evidence is "
            "mechanistic: no cohort links a downhill share to injury, hence [eng] cut-offs."
        ),
        reference=(
            "Guide (PFPS and ITBS contributing factors); Orchard et al. 1996, Am J Sports "
            "Med 24:375–379; Gottschall & Kram 2005, J Biomech 38:445–452"
        ),
        advice_keys=(
            "downhill.gradual",
            "downhill.avoid_when_symptomatic",
            "downhill.hills_last",
            "downhill.camber",
        ),
        example=(
            "Week of 26 Jan 2026: 27 % of the 30.0 km with elevation data was downhill "
            "(8.1 km at ≤ −5 %)."
        ),
    ),
    Rule(
        id="downhill-jump",
        name="Downhill jump",
        scope="week",
        measures="A week's downhill distance against the largest of the previous 4 weeks.",
        computation=(
            "week's downhill km ÷ largest downhill week of the previous 4 weeks with "
            "elevation data; both the ratio and the absolute rise must pass. From a "
            "previous maximum of 0 km the ratio counts as unbounded."
        ),
        unit="× previous maximum",
        conditions=_BOTH,
        thresholds=(
            Threshold(
                "watch",
                "> {watch_ratio:g}× and +{watch_min_rise_km:g} km",
                "no published cut-off",
                True,
            ),
            Threshold(
                "high",
                "> {high_ratio:g}× and +{high_min_rise_km:g} km",
                "no published cut-off",
                True,
            ),
        ),
        parameters=(Parameter("baseline_weeks", "weeks searched for the maximum", "weeks"),),
        rationale=(
            "The guide asks for downhill running to be introduced gradually, and for hills "
            "to return last after knee pain. A sudden rise in downhill distance is the "
            "exposure change behind both mechanisms (ITBS: footstrike angle; PFPS: "
            "eccentric quadriceps load). Thresholds are engineering defaults."
        ),
        reference=(
            "Guide (Prevention: introduce downhill running gradually); Orchard et al. "
            "1996; Gottschall & Kram 2005"
        ),
        advice_keys=("downhill.gradual", "downhill.hills_last", "downhill.avoid_when_symptomatic"),
        example=(
            "Week of 26 Jan 2026: 6.0 km downhill, 2.5× the largest week of the previous "
            "4 weeks (2.4 km)."
        ),
    ),
    Rule(
        id="low-cadence",
        name="Low running cadence",
        scope="week",
        measures="Running cadence against the guide's 170–180 spm: the usual cadence of the "
        "recent weeks, and each week's.",
        computation=(
            "time-weighted median steps/min over running samples (speed ≥ 2.0 m/s, "
            "cadence ≥ 135 spm, not in the first/last 60 s); a week needs at least "
            "min_minutes of such running. Watch: one athlete-level line per report when "
            "the usual cadence (time-weighted median of the weekly medians of the last "
            "habit_weeks weeks up to the reported week) is below the band, never a flag per "
            "week (it is most runners' normal, and a line that fires every week is ignored); "
            "it does not set the week's status and is left out of --fail-on unless asked "
            "for (--fail-on-rule low-cadence). High: each week whose median is below "
            "high_below_spm. The shares of running time below, within and above 170–180 "
            "spm and the speeds measured are reported with the weekly flags."
        ),
        unit="spm",
        conditions=_PFPS_FIRST,
        thresholds=(
            Threshold("watch", "< {watch_below_spm:g} spm", "guide"),
            Threshold("high", "< {high_below_spm:g} spm", "no published cut-off", True),
        ),
        parameters=(
            Parameter("min_minutes", "running time needed for a verdict", "min"),
            Parameter("habit_weeks", "weeks whose cadence makes the usual cadence", "weeks"),
        ),
        rationale=(
            "The guide recommends about 170–180 steps per minute to lower the load on the "
            "kneecap joint and names a 5–10 % cadence increase among the best-supported "
            "ITBS measures. A 10 % higher step rate cut peak patellofemoral force by 14 % "
            "(Lenhart 2014) and reduced hip adduction (Heiderscheit 2011). Cadence also "
            "rises with speed, so easy-pace weeks read lower; the speeds are shown."
        ),
        reference=(
            "Guide (Cadence monitoring; ITBS gait correction); Heiderscheit et al. 2011, "
            "MSSE 43:296–302; Lenhart et al. 2014, MSSE 46:557–564"
        ),
        advice_keys=("cadence.target", "cadence.raise", "cadence.monitor"),
        example=(
            "Week of 26 Jan 2026: median running cadence 164 spm (68 % of running time "
            "below 170, 30 % within 170–180, 2 % above) at a median 2.9 m/s (5:45 /km)."
        ),
    ),
    Rule(
        id="cadence-drop",
        name="Cadence drop at the same speed",
        scope="week",
        measures="Cadence within the same 0.25 m/s speed band against the previous 8 weeks.",
        computation=(
            "per speed band: this week's time-weighted median spm vs the median of the "
            "previous 8 weeks pooled; bands need min_bin_minutes this week and "
            "min_baseline_minutes of baseline; the week's value is the time-weighted mean "
            "change over its bands. At matched speed, fewer steps mean longer steps "
            "(overstriding proxy)."
        ),
        unit="% change",
        conditions=_PFPS_FIRST,
        thresholds=(
            Threshold(
                "watch",
                "≤ −{watch_drop_pct:g} % (drop > {watch_drop_pct:g} %)",
                "no published cut-off",
                True,
            ),
            Threshold(
                "high",
                "≤ −{high_drop_pct:g} % (drop > {high_drop_pct:g} %)",
                "no published cut-off",
                True,
            ),
        ),
        parameters=(
            Parameter("baseline_weeks", "weeks pooled for the personal baseline", "weeks"),
            Parameter("min_bin_minutes", "running time per band this week", "min"),
            Parameter("min_baseline_minutes", "running time per band in the baseline", "min"),
        ),
        rationale=(
            "The guide names overstriding as a PFPS factor: it raises braking force and "
            "kneecap-joint load. Longer steps at the same speed raised patellofemoral stress "
            "per step by 31 % (Willson 2014). Comparing within a speed band removes the "
            "normal rise of cadence with speed; the cut-offs are engineering defaults."
        ),
        reference=(
            "Guide (PFPS contributing factors: overstriding); Willson et al. 2014, Clin "
            "Biomech 29:243–247; Lenhart et al. 2014, MSSE 46:557–564"
        ),
        advice_keys=("cadence.overstride", "cadence.raise", "cadence.target"),
        example=(
            "Week of 26 Jan 2026: at matched speeds cadence was 4.1 % below your previous "
            "8 weeks (3.00–3.25 m/s: 164 vs 171 spm)."
        ),
    ),
    Rule(
        id="strength-gap",
        name="Strength sessions",
        scope="athlete",
        measures="Recorded strength-training sessions in the weeks up to the reported week.",
        computation=(
            "strength_training sessions (FIT sport 10 / sub_sport 20) recorded in the last "
            "window_weeks weeks ending with the reported week, per week with running; the "
            "guide's target is two. One athlete-level line per report, never per week, and "
            "never above watch: strength work is often done without recording it. Not part "
            "of --fail-on unless asked for (--fail-on-rule strength-gap)."
        ),
        unit="sessions per running week",
        conditions=_BOTH,
        thresholds=(
            Threshold(
                "watch", "< {watch_below_per_week:g} per running week", "guide: two a week", True
            ),
        ),
        parameters=(
            Parameter("target_sessions", "sessions per week advised", "", False),
            Parameter("window_weeks", "weeks counted, ending with the reported week", "weeks"),
        ),
        rationale=(
            "The guide traces both conditions to weak hip muscles and advises two strength "
            "sessions a week for prevention. Strength training lowers sports injuries in "
            "general (Lauersen 2014, RR 0.32); evidence in runners specifically is weak."
        ),
        reference=(
            "Guide (Prevention: two strength sessions per week); Lauersen et al. 2014, "
            "BJSM 48:871–877"
        ),
        advice_keys=("strength.two_sessions", "strength.exercises"),
        example=(
            "No strength session recorded in the last 12 weeks (3 Nov 2025 to 25 Jan 2026); "
            "the guide advises two a week; if you train without recording it, ignore this."
        ),
    ),
)
"""All rules the activity files alone decide, in rules.md order."""

_ITBS_RETURN_QUOTE = (
    "Return to Running After ITBS: “Criteria: Pain-free with single-leg squat (no hip "
    "drop on the unsupported side), and pain-free walking downhill and down stairs. Return "
    "protocol: Begin at a significantly reduced distance — start at 30–50% of the "
    "distance at which symptoms previously appeared. If that is pain-free, increase by "
    "10–15% every session. Re-introduce hills and downhill running last, only after "
    "3–4 weeks of pain-free flat running.”"
)
_PFPS_RETURN_QUOTE = (
    "Return to Running After PFPS: “Begin with flat-surface easy running at "
    "significantly reduced volume. Avoid downhill running and stairs for the first 2–3 "
    "weeks back. Increase weekly mileage by no more than 10% once you’ve completed 2 "
    "consecutive pain-free weeks. Speed work and hill training return last — typically "
    "4–6 weeks after pain-free flat running is established.”"
)
_PAIN_QUOTE = (
    "Priority 2: Load Management: “Running on flat surfaces at reduced volume is "
    "generally manageable if pain stays below 4/10 and doesn’t worsen afterwards.” "
    "Pain-monitoring model (Silbernagel 2007, evidence.md §7): pain up to 3–5/10 "
    "during activity is acceptable, above 5/10 is too much; pain or stiffness higher the next "
    "morning means the load was too high."
)
_ONSET_QUOTE = (
    "IT Band Syndrome, Treatment: “Identify the distance at which pain begins and train "
    "below that threshold while rehabilitating.” Signs of ITBS: “Pain that "
    "typically begins after a consistent distance into each run.”"
)
_RTR_REFERENCE = (
    "Guide (Return to Running After ITBS; Return to Running After PFPS); Silbernagel et al. "
    "2007, Am J Sports Med 35:897–906 (pain-monitoring model)"
)

RETURN_RULES: tuple[Rule, ...] = (
    Rule(
        id="rtr-session-cap",
        name="Return to run: session over the cap",
        scope="run",
        measures="A run during an open knee-pain episode against the protocol's session cap.",
        computation=(
            "cap in force before the run: ITBS criteria phase 0 km (no running until the "
            "check is passed); restart 50 % of the median onset distance (else of the painful "
            "runs); build 15 % over the last pain-free run actually run. PFPS: half the "
            "longest run of the 30 days before the episode [eng], later 10 % over the longest "
            "pain-free run [eng]. Flag when the run is over the cap by more than the "
            "tolerance (GPS distance wanders)."
        ),
        unit="% over the session cap",
        conditions=_BOTH,
        thresholds=(
            Threshold("watch", "> {watch_over_pct:g} % over the cap", "no published cut-off", True),
            Threshold(
                "high",
                "> {high_over_pct:g} % over the cap, or any run before the ITBS criteria check",
                "no published cut-off",
                True,
            ),
        ),
        parameters=(),
        rationale=(
            "The guide restarts ITBS runners at 30–50 % of the distance at which pain "
            "appeared and adds 10–15 % per pain-free session; for PFPS it asks for a "
            "significantly reduced volume. In 5,205 runners a session more than 10 % over the "
            "recent longest run raised the injury rate (Frandsen 2025), which makes the "
            "session cap the primary gate during a return (evidence.md §7)."
        ),
        reference=_RTR_REFERENCE + "; Frandsen et al. 2025, BJSM 59:1203–1210",
        advice_keys=("rtr.itbs_start", "rtr.itbs_build", "rtr.pfps_build"),
        example=(
            "Run on Sat 7 Feb 2026: 7.5 km in the ITBS build phase, 36 % over the 5.5 km cap "
            "(15 % over the last pain-free run, 4.8 km)."
        ),
        guide_quote=_ITBS_RETURN_QUOTE + " " + _PFPS_RETURN_QUOTE,
    ),
    Rule(
        id="rtr-weekly-cap",
        name="Return to run: week over the cap",
        scope="week",
        measures="A local week's running km during an episode against the protocol's week cap.",
        computation=(
            "cap in force at the start of the week: PFPS reduced phase half the weekly mean of "
            "the 4 weeks before the episode [eng]; PFPS build 10 % over the previous week "
            "(never below the reduced cap). ITBS: three sessions at the session cap or 10 % "
            "over the previous week, whichever is more [eng]; 0 km before the criteria check."
        ),
        unit="% over the week cap",
        conditions=_BOTH,
        thresholds=(
            Threshold("watch", "> {watch_over_pct:g} % over the cap", "no published cut-off", True),
            Threshold("high", "> {high_over_pct:g} % over the cap", "no published cut-off", True),
        ),
        parameters=(),
        rationale=(
            "The guide holds PFPS at a reduced volume for two weeks and then allows no more than "
            "10 % a week; its prevention advice caps every runner at about 10 % a week."
        ),
        reference=_RTR_REFERENCE,
        advice_keys=("rtr.pfps_build", "volume.ten_percent"),
        example="Week of 9 Feb 2026: 18.4 km in the PFPS reduced phase, 53 % over the 12.0 km cap.",
        guide_quote=_PFPS_RETURN_QUOTE,
    ),
    Rule(
        id="rtr-downhill",
        name="Return to run: downhill in a flat-only phase",
        scope="run",
        measures="Downhill distance in a run while the protocol is still flat only.",
        computation=(
            "the run's downhill km (grade ≤ −5 %, as for downhill-share) while "
            "downhill is not yet allowed: ITBS until 28 days of pain-free flat running (high "
            "before 21), PFPS in the first 21 days back (high before 14). Runs without an "
            "elevation profile cannot be checked and are not flagged."
        ),
        unit="km downhill",
        conditions=_BOTH,
        thresholds=(
            Threshold(
                "watch",
                "> {min_downhill_km:g} km downhill late in the flat phase (3–4 weeks "
                "ITBS, 2–3 weeks PFPS)",
                "guide ranges",
            ),
            Threshold(
                "high",
                "> {min_downhill_km:g} km downhill before the early end of the guide's range",
                "guide ranges",
            ),
        ),
        parameters=(Parameter("min_downhill_km", "less downhill than this is ignored", "km"),),
        rationale=(
            "Downhill running brings the knee to footstrike nearer the angle where the IT band "
            "is irritated (Orchard 1996) and loads the kneecap joint through eccentric braking "
            "(Gottschall & Kram 2005); the guide brings hills back last in both protocols."
        ),
        reference=_RTR_REFERENCE + "; Orchard et al. 1996; Gottschall & Kram 2005",
        advice_keys=("rtr.flat_first", "downhill.camber"),
        example=(
            "Run on Sun 1 Feb 2026: 1.8 km downhill after 12 days of pain-free flat running "
            "(ITBS: hills after 3–4 weeks)."
        ),
        guide_quote=_ITBS_RETURN_QUOTE + " " + _PFPS_RETURN_QUOTE,
    ),
    Rule(
        id="rtr-speed-work",
        name="Return to run: speed work too early",
        scope="run",
        measures="An interval or fast session before the protocol allows speed work.",
        computation=(
            "speed work is read from FIT laps where the watch wrote them (active laps "
            "alternating with rest or recovery laps, or repeated short laps marked with the "
            "lap button much faster than the run's median lap), else from the pace: a block "
            "of repeated fast stretches well above the run's median grade-adjusted pace, "
            "never on a descent (see [metrics] speed_*). Allowed: ITBS with the hills "
            "(after 28 days of pain-free flat running; high before 21), PFPS 42 days after "
            "the build began (high before 28)."
        ),
        unit="fast segments",
        conditions=_BOTH,
        thresholds=(
            Threshold("watch", "speed work late in the guide's range", "guide ranges"),
            Threshold("high", "speed work before the early end of the range", "guide ranges"),
        ),
        parameters=(),
        rationale=(
            "The guide brings speed work back last after kneecap pain, 4–6 weeks after "
            "pain-free flat running is established; for IT band pain it gives no date, so "
            "kneeflags keeps speed work with the hills, the last step of the ITBS protocol."
        ),
        reference=_RTR_REFERENCE,
        advice_keys=("rtr.speed_last",),
        example=(
            "Run on Thu 12 Feb 2026: 6 fast laps between recovery laps (FIT lap intensity), "
            "in the PFPS build by week phase, day 9 of the build (speed work 4–6 weeks after "
            "pain-free flat running is established)."
        ),
        guide_quote=_PFPS_RETURN_QUOTE,
    ),
    Rule(
        id="rtr-progression",
        name="Return to run: no step back after a setback",
        scope="run",
        measures="The first run after a setback entry (pain above 5/10 or worse next morning).",
        computation=(
            "after a logged setback, the next run should be shorter than the run that hurt; "
            "flag when it is at least same_load_ratio of that run's distance."
        ),
        unit="× the painful run",
        conditions=_BOTH,
        thresholds=(
            Threshold("watch", "— (always high)", "pain-monitoring model"),
            Threshold(
                "high",
                "≥ {same_load_ratio:g}× the painful run's distance",
                "pain-monitoring model",
            ),
        ),
        parameters=(Parameter("same_load_ratio", "share of the painful run", "×"),),
        rationale=(
            "In the pain-monitoring model the next morning decides: pain higher than usual "
            "means the load was too high and must come down (Silbernagel 2007). Running on at "
            "the same load after such a morning is what the model exists to prevent."
        ),
        reference=_RTR_REFERENCE,
        advice_keys=("rtr.pain_monitoring",),
        example=(
            "Run on Wed 4 Feb 2026: 8.0 km, after pain worse the next morning following the "
            "7.5 km run of Mon 2 Feb (no step back)."
        ),
        guide_quote=_PAIN_QUOTE,
    ),
    Rule(
        id="rtr-onset",
        name="Return to run: past the onset distance",
        scope="run",
        measures="Runs of the episode longer than the median distance at which pain came on.",
        computation=(
            "median of the logged onset distances (onset minutes are converted with the run's "
            "pace) known before the run; flag runs longer than it."
        ),
        unit="km past the onset distance",
        conditions=_BOTH,
        thresholds=(
            Threshold("watch", "> onset distance + {over_pct:g} %", "guide"),
            Threshold("high", "— (watch only)", "guide"),
        ),
        parameters=(),
        rationale=(
            "IT band pain typically comes on at a consistent distance into each run, and "
            "running on once it has appeared mid-run frequently extends recovery; the guide "
            "asks to train below that distance."
        ),
        reference="Guide (Signs of ITBS; ITBS Treatment: load management first)",
        advice_keys=("rtr.onset_distance", "volume.pain_distance"),
        example="Run on Tue 10 Feb 2026: 9.2 km, past your median onset distance of 6.5 km.",
        guide_quote=_ONSET_QUOTE,
    ),
)
"""Return-to-run rules: judged only during an open episode of the knee journal
(:mod:`kneeflags.rules.return_to_run`)."""

ALL_RULES: tuple[Rule, ...] = RULES + RETURN_RULES
"""Every rule the reports can flag: the file rules, then the return-to-run rules."""

RULES_BY_ID: dict[str, Rule] = {r.id: r for r in ALL_RULES}


def get_rule(rule_id: str) -> Rule:
    """The rule called ``rule_id``; KeyError names the known ids."""
    try:
        return RULES_BY_ID[rule_id]
    except KeyError:
        raise KeyError(f"unknown rule {rule_id!r}; known: {', '.join(RULES_BY_ID)}") from None
