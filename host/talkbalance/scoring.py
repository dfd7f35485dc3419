"""Score `analyze` against a scene's ground truth, and run a suite of scenes.

Per scene:
- share error: |analysed - true| initiator share, percentage points;
- attribution: of the frames where exactly one person spoke (truth) and the
  pipeline heard speech, the fraction given to the right person ("unknown"
  and "both" count as wrong); voice-activity recall is reported beside it;
- azimuth error: each learned talker direction against the truth, degrees;
- initiator found: the record's initiator sits at the true initiator's
  azimuth (the default rule is "whoever speaks first");
- heat: an analysed episode is a hit when it overlaps a true one;
- the conversation figures (talk time, turns, longest monologue,
  interruptions, response gap, overlap): the record's against the truth's
  (`talkbalance.figures`), each as a signed error (`FIGURES` says in what).
"""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from talkbalance import figures as truth_figures
from talkbalance import scenecache
from talkbalance.analysis import analyze
from talkbalance.errors import InputError
from talkbalance.fw import talker  # talker.angle_diff: the firmware's own definition
from talkbalance.recordcheck import finite_number
from talkbalance.records import mmss


@dataclass
class SceneScore:
    name: str
    true_share: float
    share: float | None
    share_error_pts: float | None
    attribution: float
    vad_recall: float
    vad_precision: float
    azimuth_error_deg: float | None
    initiator_found: bool
    heat_true: int
    heat_found: int
    heat_hits: int
    heat_true_found: int
    figures: dict[str, list[float | None]] = field(default_factory=dict)
    """figure -> signed errors (FIGURES), one per talker or one per scene"""
    figures_true: dict = field(default_factory=dict)
    figures_read: dict = field(default_factory=dict)
    vad_recall_by_role: dict[str, float | None] = field(default_factory=dict)
    """each person's frames of speech alone (truth) the pipeline heard as speech"""
    low_confidence: bool = False
    """the record says it could not hear well enough (docs/record.md, `hearing`)"""
    heard_snr_db: float | None = None


# figure -> (unit of its error, per talker or for the scene, target on the
# median absolute error): docs/record.md defines each figure
FIGURES = {
    "talk_time": ("%", "talker", 4.0),
    "turns": ("%", "talker", 8.0),
    "longest_monologue": ("s", "talker", 1.5),
    "interruptions": ("%", "scene", 25.0),
    "response_gap": ("s", "talker", 0.1),
    "overlap": ("%", "scene", 30.0),
}


def _pct(read: float, true: float) -> float:
    """Signed error in percent of the truth (of 1 when the truth is 0)."""
    return round(100 * (read - true) / max(true, 1), 1)


def _num(value, default: float = 0.0) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    return float(value) if ok else default


def figure_values(record: dict) -> dict:
    """The conversation figures a record gives, by role (missing: 0; a
    response gap: null)."""
    roles = {t.get("role"): t for t in record.get("talkers", []) if isinstance(t, dict)}
    out: dict = {"overlap_s": _num(record.get("overlap_s"))}
    for role in truth_figures.ROLES:
        t = roles.get(role, {})
        gap = t.get("response_gap_s")
        out[role] = {"talk_s": _num(t.get("talk_s")), "turns": int(_num(t.get("turns"))),
                     "interruptions": int(_num(t.get("interruptions"))),
                     "longest_monologue_s": _num(t.get("longest_monologue_s")),
                     "response_gap_s": None if gap is None else _num(gap)}
    return out


def true_values(truth: dict) -> dict:
    """The same figures from a scene's ground truth."""
    figs = truth_figures.figures(truth)
    out: dict = {"overlap_s": figs.overlap_s}
    for role in truth_figures.ROLES:
        t = figs.talker(role)
        out[role] = {"talk_s": t.talk_s, "turns": t.turns, "interruptions": t.interruptions,
                     "longest_monologue_s": t.longest_monologue_s, "response_gap_s": t.response_gap_s}
    return out


def figure_errors(read: dict, true: dict) -> dict[str, list[float | None]]:
    """Signed error of each figure: per talker (initiator, partner) or for
    the scene; a response gap only where both give one."""
    roles = truth_figures.ROLES

    def per_talker(key: str, relative: bool) -> list[float | None]:
        errs = []
        for role in roles:
            r, t = read[role][key], true[role][key]
            if r is None or t is None:
                errs.append(None)
            else:
                errs.append(_pct(r, t) if relative else round(r - t, 2))
        return errs

    return {
        "talk_time": per_talker("talk_s", True),
        "turns": per_talker("turns", True),
        "longest_monologue": per_talker("longest_monologue_s", False),
        "interruptions": [_pct(sum(read[r]["interruptions"] for r in roles),
                               sum(true[r]["interruptions"] for r in roles))],
        "response_gap": per_talker("response_gap_s", False),
        "overlap": [_pct(read["overlap_s"], true["overlap_s"])],
    }


def _overlaps(a: list[float], b: list[float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def score(name: str, record: dict, frames: str, truth: dict) -> SceneScore:
    tframes = truth["frames"]
    n = min(len(frames), len(tframes))
    right = single = 0
    speech_true = speech_hit = speech_said = 0
    alone = {"1": [0, 0], "2": [0, 0]}  # truth code -> [frames, of them heard]
    for i in range(n):
        t, a = tframes[i], frames[i]
        said = a != "0"
        speech_said += said
        if t != "0":
            speech_true += 1
            speech_hit += said
        if t in "12":
            alone[t][0] += 1
            alone[t][1] += said
        if t in "12" and said:
            single += 1
            right += a == t
    roles = {t["role"]: t for t in record.get("talkers", [])}  # none: no session found
    true_roles = {t["role"]: t for t in truth["talkers"]}
    share = roles.get("initiator", {}).get("share")
    true_share = truth["initiator_share"]
    az_errors = []
    for role in ("initiator", "partner"):
        az = roles.get(role, {}).get("azimuth_deg")
        if az is not None:
            az_errors.append(talker.angle_diff(az, true_roles[role]["azimuth_deg"]))
    ini_az = roles.get("initiator", {}).get("azimuth_deg")
    initiator_found = ini_az is not None and talker.angle_diff(ini_az, true_roles["initiator"]["azimuth_deg"]) < talker.angle_diff(
        ini_az, true_roles["partner"]["azimuth_deg"])
    heat_true = truth.get("heat", [])
    heat_found = record.get("heat", [])
    hits = sum(any(_overlaps(f, t) for t in heat_true) for f in heat_found)
    true_found = sum(any(_overlaps(f, t) for f in heat_found) for t in heat_true)
    read, true = figure_values(record), true_values(truth)
    hearing = record.get("hearing") if isinstance(record.get("hearing"), dict) else {}
    return SceneScore(
        name=name,
        true_share=round(true_share, 4),
        share=share,
        share_error_pts=None if share is None else round(100 * abs(share - true_share), 2),
        attribution=round(right / single, 4) if single else 0.0,
        vad_recall=round(speech_hit / speech_true, 4) if speech_true else 0.0,
        vad_precision=round(speech_hit / speech_said, 4) if speech_said else 0.0,
        vad_recall_by_role={role: round(hit / count, 4) if count else None
                            for role, (count, hit) in (("initiator", alone["1"]), ("partner", alone["2"]))},
        azimuth_error_deg=round(max(az_errors), 1) if len(az_errors) == 2 else None,
        initiator_found=initiator_found,
        heat_true=len(heat_true),
        heat_found=len(heat_found),
        heat_hits=hits,
        heat_true_found=true_found,
        figures=figure_errors(read, true),
        figures_true=true,
        figures_read=read,
        low_confidence=hearing.get("reliable") is False,
        heard_snr_db=hearing.get("snr_db"),
    )


_TRUTH_HINT = "give the JSON that `talkbalance scene` wrote beside the WAV"


def read_truth(path: Path) -> dict:
    """A scene's ground truth (the JSON `talkbalance scene` writes), checked
    for what scoring reads: InputError, naming the file, for anything else."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: {'a directory, not a scene truth' if path.is_dir() else 'no such file'}",
                         _TRUTH_HINT)
    try:
        truth = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InputError(f"{path}: not a scene's truth (not JSON)", _TRUTH_HINT) from None
    except OSError as exc:
        raise InputError(f"{path}: could not be read ({exc.strerror or exc})") from None
    if not isinstance(truth, dict):
        raise InputError(f"{path}: not a scene's truth (a JSON {type(truth).__name__}, not an object)", _TRUTH_HINT)
    talkers = truth.get("talkers")
    if (not isinstance(talkers, list) or not all(isinstance(t, dict) for t in talkers)
            or sorted(str(t.get("role")) for t in talkers) != sorted(truth_figures.ROLES)
            or not all(finite_number(t.get("azimuth_deg")) for t in talkers)):
        raise InputError(f"{path}: truth: 'talkers' must be the initiator and the partner, each with its "
                         f"azimuth_deg", _TRUTH_HINT)
    share = truth.get("initiator_share")
    if not finite_number(share) or not 0 <= share <= 1:
        raise InputError(f"{path}: truth: 'initiator_share' must be a share from 0 to 1, not {share!r}", _TRUTH_HINT)
    heat = truth.get("heat", [])
    if not isinstance(heat, list) or not all(
            isinstance(h, list) and len(h) >= 2 and finite_number(h[0]) and finite_number(h[1]) for h in heat):
        raise InputError(f"{path}: truth: 'heat' must be a list of [start_s, end_s]", _TRUTH_HINT)
    try:
        truth_figures.figures(truth)  # frames, frame_ms and segments
    except InputError as exc:
        raise InputError(f"{path}: {exc}", exc.hint or _TRUTH_HINT) from None
    return truth


def evaluate_files(wav: Path, truth_path: Path, board: str | None = None) -> SceneScore:
    truth = read_truth(truth_path)
    result = analyze(wav, board, frames=True)
    truth_s = len(truth["frames"]) * truth["frame_ms"] / 1000
    if abs(truth_s - result.audio_s) > 1:  # the truth's frames cover the scene to the last whole frame
        raise InputError(f"{truth_path}: the truth covers {mmss(truth_s)} but {wav} holds {mmss(result.audio_s)} "
                         f"of audio: not this recording's truth?", _TRUTH_HINT)
    return score(Path(wav).stem, result.longest() or {}, result.frames, truth)


@dataclass
class Summary:
    scenes: int
    share_error_median: float
    share_error_max: float
    attribution_median: float
    attribution_min: float
    azimuth_error_median: float
    azimuth_error_max: float
    initiator_found: int
    vad_recall_median: float
    heat_recall: float | None
    heat_precision: float | None
    figures: dict[str, dict] = field(default_factory=dict)
    """figure -> median absolute error, worst (signed) error and its scene, unit, target, count"""


def figure_summary(scores: list[SceneScore]) -> dict[str, dict]:
    """Per figure: the median of the absolute errors over every talker (or
    scene) and the worst error, signed; errors that could not be taken (a
    response gap missing on one side) are counted in `missing`."""
    out = {}
    for name, (unit, _per, target) in FIGURES.items():
        errs = [e for s in scores for e in s.figures.get(name, [])]
        known = [e for e in errs if e is not None]
        worst = [(e, s.name) for s in scores if (e := _worst_of(s.figures.get(name, []))) is not None]
        worst_err, worst_scene = max(worst, key=lambda pair: abs(pair[0])) if worst else (None, None)
        out[name] = {
            "unit": unit,
            "target": target,
            "median": round(statistics.median(abs(e) for e in known), 2) if known else None,
            "worst": worst_err,
            "worst_scene": worst_scene,
            "count": len(known),
            "missing": len(errs) - len(known),
        }
    return out


def summarise(scores: Iterable[SceneScore]) -> Summary:
    scores = list(scores)
    errs = [s.share_error_pts if s.share_error_pts is not None else 100.0 for s in scores]
    attr = [s.attribution for s in scores]
    az = [s.azimuth_error_deg if s.azimuth_error_deg is not None else 180.0 for s in scores]
    heat_true = sum(s.heat_true for s in scores)
    heat_found = sum(s.heat_found for s in scores)
    return Summary(
        scenes=len(scores),
        share_error_median=round(statistics.median(errs), 2),
        share_error_max=round(max(errs), 2),
        attribution_median=round(statistics.median(attr), 4),
        attribution_min=round(min(attr), 4),
        azimuth_error_median=round(statistics.median(az), 1),
        azimuth_error_max=round(max(az), 1),
        initiator_found=sum(s.initiator_found for s in scores),
        vad_recall_median=round(statistics.median(s.vad_recall for s in scores), 4),
        heat_recall=round(sum(s.heat_true_found for s in scores) / heat_true, 3) if heat_true else None,
        heat_precision=round(sum(s.heat_hits for s in scores) / heat_found, 3) if heat_found else None,
        figures=figure_summary(scores),
    )


def scores_text(scores: list[SceneScore], summary: Summary) -> str:
    head = (f"{'scene':<28} {'true':>6} {'est':>6} {'err pts':>8} {'attrib':>7} {'vad rec':>8} "
            f"{'az err':>7} {'init':>5} {'heat t/f/hit':>13}")
    lines = [head, "-" * len(head)]
    for s in scores:
        est = "-" if s.share is None else f"{100 * s.share:.1f}"
        err = "-" if s.share_error_pts is None else f"{s.share_error_pts:.2f}"
        az = "-" if s.azimuth_error_deg is None else f"{s.azimuth_error_deg:.1f}"
        lines.append(f"{s.name:<28} {100 * s.true_share:>6.1f} {est:>6} {err:>8} {100 * s.attribution:>6.1f}% "
                     f"{100 * s.vad_recall:>7.1f}% {az:>7} {'yes' if s.initiator_found else 'NO':>5} "
                     f"{f'{s.heat_true}/{s.heat_found}/{s.heat_hits}':>13}")
    m = summary
    lines += [
        "",
        f"scenes: {m.scenes}",
        f"initiator share error: median {m.share_error_median:.2f} pts, worst {m.share_error_max:.2f} pts",
        f"attribution (single-talker speech frames): median {100 * m.attribution_median:.1f}%, "
        f"worst {100 * m.attribution_min:.1f}%",
        f"azimuth error: median {m.azimuth_error_median:.1f} deg, worst {m.azimuth_error_max:.1f} deg",
        f"initiator found: {m.initiator_found}/{m.scenes}",
        f"voice activity recall: median {100 * m.vad_recall_median:.1f}%",
        "heat episodes: recall " + ("-" if m.heat_recall is None else f"{100 * m.heat_recall:.0f}%")
        + ", precision " + ("-" if m.heat_precision is None else f"{100 * m.heat_precision:.0f}%"),
    ]
    return "\n".join(lines + ["", format_figures(scores, summary)])


def _err(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return f"{value:+.1f}%" if unit == "%" else f"{value:+.2f} s"


def _worst_of(errs: list[float | None]) -> float | None:
    known = [e for e in errs if e is not None]
    return max(known, key=abs) if known else None


_FIGURE_TITLES = {
    "talk_time": "talk time (per person)",
    "turns": "turns (per person)",
    "longest_monologue": "longest monologue (per person)",
    "interruptions": "interruptions (both people)",
    "response_gap": "response gap (per person, median)",
    "overlap": "overlap",
}


_FIGURE_COLUMNS = {"talk_time": "talk", "turns": "turns", "longest_monologue": "monologue",
                   "interruptions": "interrupt", "response_gap": "gap", "overlap": "overlap"}


def format_figures(scores: list[SceneScore], summary: Summary) -> str:
    """The conversation figures: each scene's worst error per figure (the
    worse talker), then the median and worst over the scenes."""
    names = list(FIGURES)
    head = f"{'scene':<28}" + "".join(f" {_FIGURE_COLUMNS[n]:>10}" for n in names)
    lines = ["conversation figures, error of the record against the truth (worse talker):", head,
             "-" * len(head)]
    for s in scores:
        lines.append(f"{s.name:<28}" + "".join(
            f" {_err(_worst_of(s.figures.get(n, [])), FIGURES[n][0]):>10}" for n in names))
    lines += ["", f"{'figure':<34} {'median error':>13} {'worst error':>12}  {'worst in':<16} "
                  f"{'target (median)':>16}"]
    for n in names:
        f = summary.figures[n]
        unit = f["unit"]
        median = "-" if f["median"] is None else (f"{f['median']:.1f}%" if unit == "%" else f"{f['median']:.2f} s")
        target = f"{f['target']:g}%" if unit == "%" else f"{f['target']:g} s"
        missing = f"  ({f['missing']} not given)" if f["missing"] else ""
        met = "" if f["median"] is None else ("met" if f["median"] <= f["target"] else "NOT met")
        lines.append(f"{_FIGURE_TITLES[n]:<34} {median:>13} {_err(f['worst'], unit):>12}  "
                     f"{f['worst_scene'] or '-':<16} {'<= ' + target:>16}  {met}{missing}")
    return "\n".join(lines)


def to_json(scores: list[SceneScore], summary: Summary) -> str:
    return json.dumps({"summary": asdict(summary), "scenes": [asdict(s) for s in scores]}, indent=2)


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


ProgressFn = Callable[[str], None]


def score_scenes(count: int, minutes: float, cache: Path | None = None, first_seed: int = 1,
              progress: ProgressFn = progress) -> tuple[list[SceneScore], Summary]:
    """Render (or reuse) `count` random scenes and score `analyze` on each."""
    cache = cache or scenecache.default_cache()
    scores = []
    for k in range(count):
        seed = first_seed + k
        wav, truth = scenecache.ensure_scene(cache, seed, minutes, progress)
        progress(f"evaluate: scene {k + 1}/{count} (seed {seed}) ...")
        scores.append(evaluate_files(wav, truth))
    return scores, summarise(scores)


def markdown(scores: list[SceneScore], summary: Summary, command: str) -> str:
    return (
        "# Talker model evaluation\n\n"
        "Generated by the command below: random two-person scenes from the simulator "
        "(`talkbalance scene`: RT60 0.2-0.6 s, SNR 10-30 dB, talkers 90-180 degrees apart at "
        "0.7-1.5 m, random device rotation, initiator share 20-50%, heated passages), each "
        "analysed by the firmware pipeline on the MicroPython unix port (`talkbalance analyze`) "
        "and scored against the scene's ground truth (`host/talkbalance/scoring.py`).\n\n"
        f"```sh\n{command}\n```\n\n"
        "Attribution counts the frames where exactly one person spoke (truth) and the pipeline "
        "heard speech; a frame given to the other person, to both, or to nobody known counts "
        "as wrong. Voice-activity recall is the share of truth speech frames the pipeline heard.\n\n"
        "The conversation figures are defined in docs/record.md (\"The conversation figures\"); "
        "their truth comes from the scene's plan (`host/talkbalance/figures.py`, not the "
        "firmware's code). Talk time, turns and overlap are scored in percent of the truth; "
        "interruptions in percent of both people's true count together; longest monologue and "
        "response gap in seconds. The median is that of the absolute errors over every person "
        "(two per scene) or every scene; the worst is the largest error, with its sign "
        "(+ reads high).\n\n"
        f"```\n{scores_text(scores, summary)}\n```\n"
    )
