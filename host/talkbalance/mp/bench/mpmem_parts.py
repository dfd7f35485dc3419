# Heap of each object the firmware's App builds, for the table in
# docs/memory.md; run by mp_memory.py after the session when asked
# (a module of its own: the session's heap does not carry its code).
import gc


def _bench(name, value):
    print("@@BENCH memory %s %d bytes" % (name, value))


def parts(board, dev, frame_samples, out):
    """Heap of each object App builds, made again one at a time (the
    pipeline holds the front end and the conversation: they follow it)."""
    from tbfw import board_sim, button, config, link, pipeline, ring, store

    cfg = config.load_user(board.config_path)
    desc = board.desc
    makers = (
        ("pipeline", lambda: pipeline.Pipeline(desc, cfg, "bench", 1)),
        ("frontend", lambda: __import__("tbfw.frontend").frontend.FrontEnd(desc, cfg)),
        ("conversation", lambda: __import__("tbfw.session").session.Conversation(cfg, cfg["frame_ms"], "b", 1)),
        ("audio_buffers", lambda: board_sim.SimBoard.start_audio(board, frame_samples)),
        ("ring", lambda: ring.from_board(desc)),
        ("ring_state", lambda: ring.RingState()),
        ("ring_driver", lambda: ring.RingDriver(dev.ring, board.ring_write, ring.FRAME_MS)),
        ("store", lambda: store.Store(out["flash"] + "/data/sessions", 200, 50)),
        ("link", lambda: link.Link(board.serial_read, board.serial_write, dev)),
        ("button", lambda: button.Button()),
    )
    kept = []  # all kept alive until the end: a freed one would blur the next reading
    yield
    for name, make in makers:
        before = gc.mem_alloc()
        kept.append(make())
        yield
        _bench("app_%s_bytes" % name, gc.mem_alloc() - before)
