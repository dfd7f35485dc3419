// generated from hardware/board.json by `talkbalance wiring --out hardware/`; do not edit
board_name = "talkbalance-ref-s3";
mics = [[50.00, 0.00, 0], [-50.00, 0.00, 1], [0.00, 50.00, 2], [0.00, -50.00, 3]];  // [x mm, y mm, channel]
ring_count = 16;
ring_od = 44.50;
ring_id = 31.75;
ring_led0_deg = 0.00;
ring_dir = 1;  // 1 counter-clockwise, -1 clockwise
