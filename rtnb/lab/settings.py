"""JupyterLab settings defaults for ``rtnb lab``: no "get notified about Jupyter news?" pop-up.

The defaults go into an application settings directory made for one ``rtnb lab`` run
(``--LabApp.app_settings_dir``): a copy of JupyterLab's own one, if it exists, with an
``overrides.json`` that turns the news feed off. Nothing is written to the user's JupyterLab
settings or to the environment's ``share/jupyter/lab/settings``, and a choice the user made in
Settings still wins over these defaults.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

NOTIFICATION_PLUGIN = "@jupyterlab/apputils-extension:notification"
OVERRIDES: dict[str, dict[str, Any]] = {
    # "false" (a string in the schema) is "Never"; the default "none" asks in a pop-up.
    NOTIFICATION_PLUGIN: {"fetchNews": "false", "checkForUpdates": False},
}


def default_app_settings_dir() -> Path:
    """JupyterLab's own application settings directory (``<app dir>/settings``)."""
    from jupyterlab.commands import get_app_dir

    return Path(get_app_dir()) / "settings"


def write_app_settings(target: Path, source: Path | None = None) -> Path:
    """Fill ``target`` with the settings in ``source`` plus :data:`OVERRIDES`; return ``target``.

    ``source`` defaults to :func:`default_app_settings_dir`; its ``overrides.json`` is merged
    (rtnb's values win for the keys it sets) and its other files are copied.
    """
    source = default_app_settings_dir() if source is None else source
    if source.is_dir():
        shutil.copytree(source, target, dirs_exist_ok=True)
    target.mkdir(parents=True, exist_ok=True)
    overrides_path = target / "overrides.json"
    overrides: dict[str, Any] = {}
    if overrides_path.is_file():
        overrides = json.loads(overrides_path.read_text(encoding="utf-8"))
    for plugin, values in OVERRIDES.items():
        overrides[plugin] = {**overrides.get(plugin, {}), **values}
    overrides_path.write_text(json.dumps(overrides, indent=2) + "\n", encoding="utf-8")
    return target
