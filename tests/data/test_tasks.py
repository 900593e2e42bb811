import pytest

from nas.data import TASKS, Task, get_task, list_tasks
from nas.data._classes import CAMVID11_NAMES, CAMVID32, CAMVID32_TO_11


def test_registry_has_both_tasks():
    assert list_tasks() == ["camvid11", "camvid4"]
    assert get_task("camvid4").num_classes == 4
    assert get_task("camvid11").num_classes == 11
    assert get_task(TASKS["camvid4"]) is TASKS["camvid4"]


def test_unknown_task_lists_valid_names():
    with pytest.raises(ValueError, match=r"unknown task 'camvid5'.*camvid11.*camvid4"):
        get_task("camvid5")


def test_camvid4_uses_ai8x_order_and_puts_the_rest_in_other():
    t = get_task("camvid4")
    assert t.class_names == ("Building", "Sky", "Tree", "Other")
    assert [t.map_name(n) for n in ("Building", "Sky", "Tree")] == [0, 1, 2]
    # Void, other classes and unknown names are Other (a class, not ignored).
    assert {t.map_name(n) for n in ("Void", "Road", "Wall", "VegetationMisc", "xyz")} == {3}


def test_camvid11_maps_every_32_class_and_ignores_void():
    t = get_task("camvid11")
    assert t.class_names == CAMVID11_NAMES
    assert t.map_name("Void") == 255
    for name, _ in CAMVID32:
        if name != "Void":
            assert t.map_name(name) == CAMVID11_NAMES.index(CAMVID32_TO_11[name]), name
    assert t.map_name("LaneMkgsDriv") == CAMVID11_NAMES.index("Road")
    assert t.map_name("child") == CAMVID11_NAMES.index("Pedestrian")  # case-insensitive
    assert t.map_name("Sidewalk") == t.map_name("Pavement") == 4
    assert t.map_name("NotAClass") is None


def test_task_validates_weights():
    with pytest.raises(ValueError, match="one weight per class"):
        Task("x", ("a", "b"), class_weights=(1.0,))
