"""What a tile job reads from the database while it runs: its uploaded input, checked."""

import hashlib

from ..exceptions import TileInputUnavailable
from ..models import TileInput
from .npz import BandArchive, read_band_archive


def load_tile_input(*, organization_id: int, input_id: int) -> tuple[TileInput, BandArchive]:
    """A tile job's input with its bands (the worker's read), only from the job's own organization.
    Raises TileInputUnavailable when it was deleted after the job was submitted."""
    tile_input = TileInput.objects.filter(organization_id=organization_id, pk=input_id).first()
    if tile_input is None:
        raise TileInputUnavailable(f"tile input {input_id} no longer exists (deleted after the job was submitted)")
    data = bytes(tile_input.data)
    if hashlib.sha256(data).hexdigest() != tile_input.sha256:
        raise TileInputUnavailable(f"tile input {input_id} {tile_input.name!r} is damaged: its sha256 does not match")
    return tile_input, read_band_archive(data, scale=tile_input.scale)
