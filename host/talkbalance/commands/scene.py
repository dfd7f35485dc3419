"""`talkbalance scene OUT.wav`: a simulated conversation and its ground truth."""

from __future__ import annotations

import argparse
import sys
import time

from talkbalance import boardfile, paths, scenenoise, scenesim


def configure(parser: argparse.ArgumentParser) -> None:
    d = scenesim.SceneConfig()
    parser.add_argument("out", metavar="OUT.wav", help="WAV file to write (16-bit PCM, the board's channels)")
    parser.add_argument("--truth", metavar="OUT.json", help="ground-truth JSON (default: OUT.json beside the WAV)")
    parser.add_argument("--seed", type=int, default=d.seed, help=f"random seed (default {d.seed})")
    parser.add_argument("--minutes", type=float, default=d.minutes, help=f"length (default {d.minutes})")
    parser.add_argument("--share", type=float, default=d.share,
                        help=f"initiator's target share of talk, 0..1 (default {d.share})")
    parser.add_argument("--initiator-az", type=float, default=d.initiator_az_deg, metavar="DEG",
                        help=f"initiator's azimuth in the room (default {d.initiator_az_deg:g})")
    parser.add_argument("--partner-az", type=float, default=d.partner_az_deg, metavar="DEG",
                        help=f"partner's azimuth in the room (default {d.partner_az_deg:g})")
    parser.add_argument("--distance", type=float, nargs=2, default=list(d.distance_m), metavar="M",
                        help="initiator's and partner's distance from the device (default 1.0 1.0)")
    parser.add_argument("--rotation", type=float, default=d.rotation_deg, metavar="DEG",
                        help="device rotation, counter-clockwise; talkers' device-frame azimuth is "
                             "room azimuth minus rotation (default 0)")
    parser.add_argument("--rt60", type=float, default=d.rt60_s, metavar="S",
                        help=f"reverberation time, 0 for anechoic (default {d.rt60_s})")
    parser.add_argument("--snr", type=float, default=d.snr_db, metavar="DB",
                        help=f"speech to noise ratio (default {d.snr_db:g})")
    parser.add_argument("--noise", choices=tuple(scenenoise.KINDS), default=d.noise,
                        help="background noise: pink-fan (independent pink noise per microphone and a fan), "
                             "diffuse-pink, babble, fan, tv, music, or mixed (see docs/scene.md; default pink-fan)")
    parser.add_argument("--noise-az", type=float, default=None, metavar="DEG",
                        help="place the fan, TV or music speaker at this azimuth in the room (default: by a wall)")
    parser.add_argument("--noise-distance", type=float, default=None, metavar="M",
                        help="place the fan, TV or music speaker this far from the device (default 1.0 m with --noise-az)")
    parser.add_argument("--quiet-start", type=float, default=d.quiet_start_s, metavar="S",
                        help="seconds of the room's sound alone (its noise, a TV or music playing) before "
                             "the first words, on top of the usual 0.4-1.2 s (default 0)")
    parser.add_argument("--heat", type=int, default=None, metavar="N",
                        help="heated passages (default one per 5 minutes)")
    parser.add_argument("--first", choices=scenesim.ROLES, default=d.first, help="who speaks first (default initiator)")
    parser.add_argument("--board", metavar="FILE", help="board file (default: the project's hardware/board.json)")
    parser.add_argument("--voices", choices=("espeak", "synthetic", "auto"), default=d.voices,
                        help="speech source: espeak-ng, the built-in generator, or auto (espeak-ng where installed)")


def run(args: argparse.Namespace) -> int:
    config = scenesim.SceneConfig(
        seed=args.seed, minutes=args.minutes, share=args.share,
        initiator_az_deg=args.initiator_az, partner_az_deg=args.partner_az,
        distance_m=(args.distance[0], args.distance[1]), rotation_deg=args.rotation,
        rt60_s=args.rt60, snr_db=args.snr, heat=args.heat, first=args.first, voices=args.voices,
        noise=args.noise, noise_az_deg=args.noise_az, noise_distance_m=args.noise_distance,
        quiet_start_s=args.quiet_start,
    )
    config.validate()
    desc = boardfile.load(args.board)
    # before minutes of rendering, not after
    paths.check_output_file(args.out, "OUT.wav")
    paths.check_output_file(scenesim.truth_path_for(args.out, args.truth), "--truth")
    started = time.perf_counter()
    result = scenesim.render(config, desc)
    truth_path = scenesim.write(result, args.out, args.truth)
    elapsed = time.perf_counter() - started
    truth = result.truth
    talkers = ", ".join(f"{t['role']} {t['azimuth_deg']:g} deg {t['distance_m']:g} m ({t['voice']})"
                        for t in truth["talkers"])
    print(f"{args.out}: {truth['duration_s']:g} s, {truth['channels']} channels at {truth['rate']} Hz")
    print(f"{truth_path}: initiator share {truth['initiator_share']:.3f} (target {config.share:g}), "
          f"talk {truth['talk_s']['initiator']:g} s / {truth['talk_s']['partner']:g} s, "
          f"{len(truth['heat'])} heated passages")
    print(f"talkers (device frame): {talkers}")
    noise = truth["noise"]
    places = "".join(f", {p['part']} at {p['azimuth_deg']:g} deg {p['distance_m']:g} m"
                     for p in noise["parts"] if "room_m" in p)
    print(f"noise: {noise['kind']}, {noise['level_dbfs']:.1f} dBFS (SNR {noise['snr_db']:g} dB){places}")
    print(f"scene: rendered in {elapsed:.1f} s", file=sys.stderr)
    return 0
