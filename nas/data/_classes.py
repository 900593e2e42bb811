"""CamVid class tables: the 11 SegNet classes, the 32 original classes and their groupings.

The colours are CamVid's public palettes (SegNet's for the 11 classes, the original
``class_dict.csv`` for the 32); they are only used to draw or to decode colour masks.
"""

from __future__ import annotations

VOID = 255

# SegNet's 11 classes: (name, RGB), index = position. Void is 255 (black).
CAMVID11: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("Sky", (128, 128, 128)),
    ("Building", (128, 0, 0)),
    ("Pole", (192, 192, 128)),
    ("Road", (128, 64, 128)),
    ("Pavement", (60, 40, 222)),
    ("Tree", (128, 128, 0)),
    ("SignSymbol", (192, 128, 128)),
    ("Fence", (64, 64, 128)),
    ("Car", (64, 0, 128)),
    ("Pedestrian", (64, 64, 0)),
    ("Bicyclist", (0, 128, 192)),
)
CAMVID11_NAMES: tuple[str, ...] = tuple(name for name, _ in CAMVID11)

# The 32 original CamVid classes in the order of the usual ``class_dict.csv``.
CAMVID32: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("Animal", (64, 128, 64)),
    ("Archway", (192, 0, 128)),
    ("Bicyclist", (0, 128, 192)),
    ("Bridge", (0, 128, 64)),
    ("Building", (128, 0, 0)),
    ("Car", (64, 0, 128)),
    ("CartLuggagePram", (64, 0, 192)),
    ("Child", (192, 128, 64)),
    ("Column_Pole", (192, 192, 128)),
    ("Fence", (64, 64, 128)),
    ("LaneMkgsDriv", (128, 0, 192)),
    ("LaneMkgsNonDriv", (192, 0, 64)),
    ("Misc_Text", (128, 128, 64)),
    ("MotorcycleScooter", (192, 0, 192)),
    ("OtherMoving", (128, 64, 64)),
    ("ParkingBlock", (64, 192, 128)),
    ("Pedestrian", (64, 64, 0)),
    ("Road", (128, 64, 128)),
    ("RoadShoulder", (128, 128, 192)),
    ("Sidewalk", (0, 0, 192)),
    ("SignSymbol", (192, 128, 128)),
    ("Sky", (128, 128, 128)),
    ("SUVPickupTruck", (64, 128, 192)),
    ("TrafficCone", (0, 0, 64)),
    ("TrafficLight", (0, 64, 64)),
    ("Train", (192, 64, 128)),
    ("Tree", (128, 128, 0)),
    ("Truck_Bus", (192, 128, 192)),
    ("Tunnel", (64, 0, 64)),
    ("VegetationMisc", (192, 192, 0)),
    ("Void", (0, 0, 0)),
    ("Wall", (64, 192, 0)),
)

# The usual 32 -> 11 grouping (SegNet's classes; e.g. lane markings count as Road).
# Names not listed here (only Void) map to VOID.
CAMVID32_TO_11: dict[str, str] = {
    "Sky": "Sky",
    "Building": "Building",
    "Archway": "Building",
    "Bridge": "Building",
    "Tunnel": "Building",
    "Wall": "Building",
    "Column_Pole": "Pole",
    "TrafficCone": "Pole",
    "Road": "Road",
    "LaneMkgsDriv": "Road",
    "LaneMkgsNonDriv": "Road",
    "Sidewalk": "Pavement",
    "ParkingBlock": "Pavement",
    "RoadShoulder": "Pavement",
    "Tree": "Tree",
    "VegetationMisc": "Tree",
    "SignSymbol": "SignSymbol",
    "Misc_Text": "SignSymbol",
    "TrafficLight": "SignSymbol",
    "Fence": "Fence",
    "Car": "Car",
    "SUVPickupTruck": "Car",
    "Truck_Bus": "Car",
    "Train": "Car",
    "OtherMoving": "Car",
    "Pedestrian": "Pedestrian",
    "Child": "Pedestrian",
    "CartLuggagePram": "Pedestrian",
    "Animal": "Pedestrian",
    "Bicyclist": "Bicyclist",
    "MotorcycleScooter": "Bicyclist",
}
