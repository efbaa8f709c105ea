"""The layout guard: `platform/` is a plain folder, and `import platform` is the standard library's."""
import importlib
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_platform_is_the_standard_library_module():
    import platform

    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    assert Path(platform.__file__).resolve().parent == stdlib
    assert callable(platform.python_version)


def test_platform_folder_is_not_a_package():
    assert not (ROOT / "platform" / "__init__.py").exists()


def test_top_level_packages_do_not_shadow_the_standard_library():
    for name in ("events", "projections", "threadlog"):
        assert name not in sys.stdlib_module_names
        module = importlib.import_module(name)
        assert ROOT in Path(module.__file__).resolve().parents


def test_uuid_still_works_with_the_project_on_the_path():
    import uuid

    assert uuid.uuid4().version == 4
