"""The working copy of the tutorials that ``rtnb lab`` opens, kept in step with their source.

Running the tutorials writes outputs into them (JupyterLab autosaves) and files next to them, so
``rtnb lab`` never opens the originals (a clone's ``notebooks/`` or the copy in the wheel): it
opens a working copy. :func:`sync_working_copy` copies what is missing, and when a tutorial
changed at its source (``git pull``, a new wheel) it replaces the copy, unless the copy was
edited: then the copy is kept and the change is reported. A copy that was only run (same
sources, other outputs) counts as unedited. :func:`trust_tutorials` signs the unedited copies
(what ``jupyter trust`` does), so JupyterLab does not warn that they are "not trusted".
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from rtnb.lab.notebook_clean import fingerprint

MANIFEST = ".rtnb-tutorials.json"
"""In the working copy: notebook name -> fingerprint of the tutorial it was copied from."""


def sync_working_copy(source: Path, target: Path) -> list[str]:
    """Bring the notebooks of ``source`` into ``target``; return notes for the user.

    Each note says what happened to a notebook that was already in ``target`` and could not
    simply stay as it is.
    """
    target.mkdir(parents=True, exist_ok=True)
    manifest = _read_manifest(target / MANIFEST)
    notes = []
    for original in sorted(source.glob("*.ipynb")):
        copy = target / original.name
        new = fingerprint(original)
        current = fingerprint(copy) if copy.exists() else None
        if not copy.exists():
            shutil.copy2(original, copy)
        elif current == new:
            pass  # the same tutorial, maybe with outputs: keep them
        elif current is not None and manifest.get(original.name) == current:
            shutil.copy2(original, copy)
            notes.append(f"{original.name}: updated to the new version of the tutorial")
        else:
            notes.append(
                f"{original.name}: kept your edited copy; the tutorial itself is {original} "
                "(delete your copy to get it)"
            )
            continue
        if new is not None:
            manifest[original.name] = new
    (target / MANIFEST).write_text(
        json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )
    return notes


def _read_manifest(path: Path) -> dict[str, str]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in value.items() if isinstance(v, str)} if isinstance(value, dict) else {}


def trust_tutorials(target: Path, notary: Any = None) -> list[str]:
    """Sign the unedited tutorial copies in ``target`` that Jupyter does not trust yet; return
    their names.

    They are rtnb's own tutorials (their sources are those of the manifest), so signing them is
    what ``jupyter trust`` would do; JupyterLab re-signs them when it saves them. ``notary`` is a
    :class:`nbformat.sign.NotebookNotary` (default: the user's, as JupyterLab uses it).
    """
    import nbformat
    from nbformat.sign import NotebookNotary

    notary = notary or NotebookNotary()
    signed = []
    for name, fingerprinted in sorted(_read_manifest(target / MANIFEST).items()):
        path = target / name
        if not path.is_file() or fingerprint(path) != fingerprinted:
            continue  # gone, or edited by the user: theirs to trust
        try:
            notebook = nbformat.read(path, as_version=nbformat.NO_CONVERT)
            if notebook.get("nbformat", 0) < 4 or notary.check_signature(notebook):
                continue
            notary.sign(notebook)
        except (OSError, ValueError, KeyError, AttributeError, TypeError):
            continue  # not a notebook Jupyter can sign: JupyterLab will say so itself
        signed.append(name)
    return signed
