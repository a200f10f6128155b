"""Sizes and colours: VCV Rack's look (1 HP = 15 px, a 3U row = 380 px at 100 %)."""

HP = 15  # pixels per horizontal pitch
ROW_H = 380  # one 3U rack row
RAIL_H = 15  # the metal rails at the top and bottom of a row
TOOLBAR_H = 28  # the menu bar at the top of the window
STATUS_H = 22  # the status line at the bottom

KNOB_BIG = 34
KNOB_SMALL = 24
JACK_R = 10
SWITCH_W, SWITCH_H = 14, 24

# Rack
RACK_BG = (32, 32, 34)
RAIL = (150, 150, 152)
RAIL_DARK = (98, 98, 100)
RAIL_HOLE = (60, 60, 62)

# Panels (VCV's light "Fundamental" panels)
PANEL = (228, 228, 224)
PANEL_EDGE = (150, 150, 146)
PANEL_SHADE = (208, 208, 204)
PANEL_TEXT = (36, 36, 40)
PANEL_LABEL = (70, 70, 76)
OUT_PLATE = (64, 64, 70)
OUT_TEXT = (235, 235, 235)
SCREW = (172, 172, 176)
SCREW_DARK = (110, 110, 114)

# Widgets
KNOB_BODY = (44, 44, 48)
KNOB_RIM = (22, 22, 24)
KNOB_CAP = (70, 70, 76)
KNOB_MARK = (245, 245, 245)
KNOB_ARC = (236, 190, 60)
JACK_OUTER = (196, 196, 200)
JACK_RING = (120, 120, 126)
JACK_HOLE = (20, 20, 22)
LIGHT_OFF = (40, 40, 40)
LIGHT_POS = (40, 235, 90)
LIGHT_NEG = (240, 50, 60)

# Overlays
TOOLTIP_BG = (20, 20, 24)
TOOLTIP_FG = (250, 250, 250)
MENU_BG = (44, 44, 50)
MENU_HI = (64, 110, 200)
MENU_FG = (235, 235, 235)
MENU_DIM = (140, 140, 150)
BAR_BG = (24, 24, 28)
BAR_FG = (220, 220, 224)
BAR_BUTTON = (48, 48, 54)
BAR_BUTTON_HI = (70, 70, 80)
DISPLAY_BG = (16, 22, 26)
DISPLAY_FG = (120, 230, 200)
DISPLAY_GRID = (40, 56, 60)
METER_BG = (0, 0, 0, 170)
METER_FG = (255, 170, 40)

# VCV Rack 2's default cable colours, in the order new cables take them.
CABLE_COLORS = ("#f3374b", "#ffb437", "#00b56e", "#3695ef", "#8b4ade")
SCOPE_COLORS = ((120, 230, 200), (240, 200, 90), (240, 110, 140), (130, 170, 255))


def rgb(hex_color: str) -> tuple[int, int, int]:
    h = hex_color.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)
