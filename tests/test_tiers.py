"""The evaluation tiers: what each holds, cache names that cannot collide, the tables and the report file."""

from pathlib import Path

from talkbalance import scenecache, scenesim, scoring, tiers


def test_tiers_hold_the_conditions_they_promise():
    quiet = tiers.scenes("quiet")
    assert [s.config(10.0) for s in quiet] == [scenesim.random_config(seed, 10.0) for seed in range(1, 21)]
    noisy = [s.config(10.0) for s in tiers.scenes("noisy")]
    assert len(noisy) >= 10
    assert all(0 <= c.snr_db <= 10 for c in noisy)
    assert {"diffuse-pink", "babble", "fan", "tv"} <= {c.noise for c in noisy}
    assert {c.snr_db for c in noisy} >= {0.0, 5.0}
    reverb = [s.config(10.0) for s in tiers.scenes("reverberant")]
    assert len(reverb) >= 10
    assert all(0.7 <= c.rt60_s <= 1.0 for c in reverb)
    for c in noisy + reverb:
        c.validate()


def test_tier_scenes_are_cached_under_names_the_default_scenes_cannot_take(tmp_path):
    stems = [s.stem(10.0) for t in ("noisy", "reverberant") for s in tiers.scenes(t)]
    assert len(set(stems)) == len(stems)
    defaults = {scenecache.scene_paths(tmp_path, seed, 10.0)[0].stem for seed in range(1, 1000)}
    assert not defaults & set(stems)
    assert all(stem.startswith("tier-") for stem in stems)
    # the quiet tier is the default scenes themselves
    assert [s.stem(10.0) for s in tiers.scenes("quiet")] == [f"scene-{k:03d}-10min" for k in range(1, 21)]


def _score(name, err, flagged=False, found=True):
    return scoring.SceneScore(name=name, true_share=0.3, share=0.3 + err / 100, share_error_pts=err,
                               attribution=0.9, vad_recall=0.9, vad_precision=0.9,
                               azimuth_error_deg=2.0 if found else None, initiator_found=found, heat_true=0,
                               heat_found=0, heat_hits=0, heat_true_found=0, low_confidence=flagged)


def test_tables_group_by_condition_and_count_unflagged_misses():
    rows = [(_score("a", 1.0), tiers.Condition("noisy", "babble", 5.0, 0.3)),
            (_score("b", 3.0), tiers.Condition("noisy", "tv", 5.0, 0.5)),
            (_score("c", 9.0, flagged=True), tiers.Condition("noisy", "tv", 0.0, 0.3)),
            (_score("d", 7.0, found=False), tiers.Condition("noisy", "fan", 0.0, 0.3)),
            (_score("e", 0.5), tiers.Condition("quiet", "pink-fan", 23.0, 0.8))]
    by = dict(tiers.tables(rows))
    snr = {r[0]: r for r in by["SNR"]}
    assert [r[0] for r in by["SNR"]] == ["0 dB", "5 dB", "20-30 dB"]
    assert snr["0 dB"][1:] == ["2", "8.00", "9.00", "1", "1", "1/2"]
    assert snr["5 dB"][2:4] == ["2.00", "3.00"]
    assert [r[0] for r in by["RT60"]] == ["0.2-0.4 s", "0.4-0.6 s", "0.8 s"]
    results = {"noisy": rows[:4]}
    lines = tiers.checks(results)
    assert any("5 dB SNR (2 scenes): share error median 2.000 pts, target <= 2: met" in line for line in lines)
    assert any("unflagged errors over 5 pts: 1 (d): NOT met" in line for line in lines)


def test_the_report_replaces_only_its_own_part_of_the_file(tmp_path: Path):
    doc = tmp_path / "evaluation.md"
    tiers.write_markdown(doc, f"{tiers.BEGIN}\nfirst\n{tiers.END}", "Title", "intro")
    assert doc.read_text().startswith("# Title\n\nintro\n\n" + tiers.BEGIN)
    doc.write_text(doc.read_text() + "\n## Notes written by hand\n")
    tiers.write_markdown(doc, f"{tiers.BEGIN}\nsecond\n{tiers.END}", "Title", "intro")
    text = doc.read_text()
    assert "second" in text and "first" not in text
    assert text.endswith("\n## Notes written by hand\n")
