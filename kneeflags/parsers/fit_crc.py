"""FIT CRC-16, vectorised: shared by the fast decoder and the fitparse-based one."""

from __future__ import annotations

import os

import numpy as np

try:
    # The C accelerator's slicing-by-8 CRC (``_scan.crc16``): 0.03 ms for a 100 kB one-hour
    # file against 0.28 ms for the numpy fold below, whose 128 KiB word table also slows
    # several-fold when another process shares the core's cache. Same value (tested); off
    # with the rest of the accelerator under ``KNEEFLAGS_NO_C=1``.
    from kneeflags.parsers._scan import crc16 as _crc16_c  # type: ignore[import-not-found]
except ImportError:  # no compiler at install time: the numpy fold does the work
    _crc16_c = None
if os.environ.get("KNEEFLAGS_NO_C", "") in ("1", "true", "yes"):
    _crc16_c = None

# --------------------------------------------------------------------------------------------
# CRC-16 of the FIT SDK (reflected polynomial 0xA001, initial value 0), vectorised.
#
# The CRC has no initial value or final xor, so it is linear: the CRC of a message is the xor
# of its parts' CRCs, each advanced over the zero bytes that follow it. A 16-bit state takes two
# bytes at a time through one 65536-entry table, and pairs of adjacent segments combine with a
# table that advances a CRC over 2**k words. A 100 kB file then costs ~17 numpy steps, not
# 100,000 Python steps.
# --------------------------------------------------------------------------------------------


def _crc_byte_table() -> np.ndarray:
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ 0xA001, table >> 1)
    return table.astype(np.uint32)


_CRC_T8 = _crc_byte_table()
_x = np.arange(65536, dtype=np.uint32)
_y = (_x >> 8) ^ _CRC_T8[_x & 0xFF]
_CRC_WORD = ((_y >> 8) ^ _CRC_T8[_y & 0xFF]).astype(np.uint16)
"""CRC state after feeding the two bytes of a little-endian word into a zero state."""
del _x, _y
_CRC_ADVANCE: list[np.ndarray] = [_CRC_WORD]
"""_CRC_ADVANCE[k][c]: state c advanced over 2**k zero words (k=0: one word)."""


CRC_CHUNK_WORDS = 1 << 16
"""Words (128 KiB) per vectorised step: bounds the CRC's own memory to a few times this,
whatever the file's size, at a handful of numpy calls per step."""


def fit_crc(data: bytes | bytearray | memoryview) -> int:
    """FIT CRC-16 of ``data`` (the value stored after a FIT file's data), read in place
    (a ``memoryview`` slice of the file is not copied): in C when the accelerator is built,
    else by :func:`fit_crc_numpy`."""
    if _crc16_c is not None:
        return int(_crc16_c(data))
    return fit_crc_numpy(data)


def fit_crc_numpy(data: bytes | bytearray | memoryview) -> int:
    """:func:`fit_crc` without the C accelerator (the reference its result is tested against).

    Reads ``data`` :data:`CRC_CHUNK_WORDS` at a time, each chunk's CRC folded into the
    running one: the CRC is linear, so CRC(A + B) is CRC(A) advanced over B's length, xor
    CRC(B).
    """
    view = memoryview(data).cast("B")
    n = len(view)
    if not n:
        return 0
    state = 0
    start = n % 2
    if start:  # an odd first byte alone: from the zero state, its CRC is the table entry
        state = int(_CRC_T8[view[0]])
    words = np.frombuffer(view, dtype="<u2", offset=start)
    for first in range(0, words.size, CRC_CHUNK_WORDS):
        chunk = words[first : first + CRC_CHUNK_WORDS]
        state = _advance(state, chunk.size) ^ _crc_words(chunk)
    return state


def _table(level: int) -> np.ndarray:
    """_CRC_ADVANCE[level], built on first use."""
    while len(_CRC_ADVANCE) <= level:
        prev = _CRC_ADVANCE[-1]
        _CRC_ADVANCE.append(prev[prev])
    return _CRC_ADVANCE[level]


def _advance(state: int, words: int) -> int:
    """A CRC state advanced over ``words`` zero words (one table step per bit set)."""
    level = 0
    while state and words:
        if words & 1:
            state = int(_table(level)[state])
        words >>= 1
        level += 1
    return state


def _crc_words(words: np.ndarray) -> int:
    """CRC (from the zero state) of little-endian 16-bit words, pairs combined level by level."""
    seg = _CRC_WORD[words]
    level = 0
    while seg.size > 1:
        if seg.size % 2:  # a leading zero word never changes a CRC that starts at 0
            seg = np.concatenate((np.zeros(1, np.uint16), seg))
        seg = _table(level)[seg[0::2]] ^ seg[1::2]
        level += 1
    return int(seg[0])


def crc_bytewise(data: bytes) -> int:
    """Byte-wise CRC for a header's 12 bytes (cheaper than numpy set-up)."""
    crc = 0
    table = _CRC_T8
    for b in data:
        crc = (crc >> 8) ^ int(table[(crc ^ b) & 0xFF])
    return crc
