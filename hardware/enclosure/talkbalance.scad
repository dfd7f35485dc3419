// talkbalance puck: parametric enclosure (lid + base), millimetres.
//
// The microphone ports and the LED ring come from board_params.scad, which
// `talkbalance wiring --out hardware/` generates from hardware/board.json:
// move a microphone in the board file, regenerate, and the port moves.
//
//   openscad -o lid.stl  -D 'part="lid"'  talkbalance.scad
//   openscad -o base.stl -D 'part="base"' talkbalance.scad
//
// Print the lid upside down in white or natural PLA/PETG: the thin floor
// over the ring (ring_window) diffuses the LEDs. The base in any colour.

include <board_params.scad>

part = "both";          // "lid", "base" or "both" (side by side)

// ---- dimensions that are not in the board file
wall = 2.0;             // side wall
lid_t = 2.4;            // lid thickness
window_t = 0.8;         // lid left over the ring: the diffuser
edge_margin = 14;       // from the outermost microphone to the outside
height = 26;            // base inner height: DevKitC-1 on its headers + wiring
port_d = 1.2;           // acoustic port through the lid, per microphone
gasket_id = 3.5;        // gasket (closed-cell foam / silicone) around the port
gasket_od = 8.0;
gasket_depth = 0.6;
mic_pcb_d = 14.5;       // round INMP441 breakout; pocket locates it
mic_pocket_depth = 1.0;
boss_h = 4.0;           // ring of the mic pocket, below the lid
button_d = 7.2;         // 6x6 mm tactile switch with a 7 mm cap
button_az = 45;         // degrees, counter-clockwise from +x
usb_az = -90;           // USB-C cut-out in the base wall (back: -y)
usb_w = 11;
usb_h = 6;
usb_z = 6;              // above the base floor
floor_t = 2.0;
clearance = 0.3;        // lid lip into the base
lip_h = 3;
$fn = 48;

function mic_r(m) = sqrt(m[0] * m[0] + m[1] * m[1]);
function max_mic_r(i = 0) = i >= len(mics) ? 0 : max(mic_r(mics[i]), max_mic_r(i + 1));

outer_r = max(max_mic_r() + edge_margin, ring_od / 2 + edge_margin);
inner_r = outer_r - wall;
ring_mean_r = (ring_od + ring_id) / 4;
ring_w = (ring_od - ring_id) / 2;

module lid() {
    // one line per port, read by tests/test_hardware.py
    for (m = mics) echo(str("mic_port ch", m[2], " x ", m[0], " y ", m[1]));
    echo(str("ring_pocket od ", ring_od + 1, " id ", ring_id - 1));
    difference() {
        union() {
            cylinder(r = outer_r, h = lid_t);
            // lip that drops into the base
            translate([0, 0, -lip_h])
                difference() {
                    cylinder(r = inner_r - clearance, h = lip_h);
                    translate([0, 0, -1]) cylinder(r = inner_r - clearance - 1.6, h = lip_h + 2);
                }
            // a boss around each microphone pocket
            for (m = mics)
                translate([m[0], m[1], -boss_h])
                    cylinder(d = mic_pcb_d + 3.2, h = boss_h);
        }
        for (m = mics) {
            // acoustic port straight through the lid
            translate([m[0], m[1], -boss_h - 1]) cylinder(d = port_d, h = lid_t + boss_h + 2);
            // the breakout sits in this pocket, port side up
            translate([m[0], m[1], -boss_h - 1])
                cylinder(d = mic_pcb_d, h = boss_h - gasket_depth + 1);
            // gasket seat between breakout and lid
            translate([m[0], m[1], -gasket_depth - 0.01])
                difference() {
                    cylinder(d = gasket_od, h = gasket_depth + 0.01);
                    cylinder(d = gasket_id, h = gasket_depth + 0.01);
                }
        }
        // ring pocket from below, leaving window_t over the LEDs
        translate([0, 0, -lip_h - 1])
            difference() {
                cylinder(d = ring_od + 1, h = lid_t - window_t + lip_h + 1);
                translate([0, 0, -1]) cylinder(d = ring_id - 1, h = lid_t + lip_h + 3);
            }
        // LED 0 mark: a small dimple on top, at LED 0's azimuth
        rotate([0, 0, ring_led0_deg])
            translate([ring_od / 2 + 3, 0, lid_t - 0.4]) cylinder(d = 1.6, h = 1);
        // button
        rotate([0, 0, button_az])
            translate([outer_r - edge_margin / 2, 0, -lip_h - 1]) cylinder(d = button_d, h = lid_t + lip_h + 2);
    }
}

module base() {
    difference() {
        cylinder(r = outer_r, h = height + floor_t);
        translate([0, 0, floor_t]) cylinder(r = inner_r, h = height + 1);
        // USB-C opening
        rotate([0, 0, usb_az])
            translate([outer_r - wall - 1, -usb_w / 2, floor_t + usb_z])
                cube([wall + 2, usb_w, usb_h]);
    }
    // rails that hold the DevKitC-1 (25.5 mm wide) with its USB towards usb_az
    rotate([0, 0, usb_az + 90])
        for (side = [-1, 1])
            translate([side * (25.5 / 2 + 1), 0, floor_t + 2])
                cube([2, 60, 4], center = true);
}

if (part == "lid") {
    lid();
} else if (part == "base") {
    base();
} else {
    translate([-(outer_r + 5), 0, 0]) base();
    translate([outer_r + 5, 0, lid_t]) rotate([180, 0, 0]) lid();
}
