"""The parts of ``toolsfix patch`` behind :mod:`toolsfix.patcher` (its public entry point).

Split by concern so each can be read and tested alone: :mod:`.plan` decides and proves (pure:
bytes in, new bytes and evidence out), :mod:`.archive` writes a patched copy of a tarball or
ISO, :mod:`.installdb` finds an installed configurator through the guest's install database.
Writing a file in place (backup, atomic replace, rollback) stays in :mod:`toolsfix.patcher`.
"""
