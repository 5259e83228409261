"""Pronunciations for words missing from the recognizer's dictionary, from espeak-ng.

espeak-ng knows how to say any English word; its IPA is mapped onto the CMU (ARPAbet)
phones the pocketsphinx model uses. Used for routine names users add ("glute",
"sciatic", "piriformis"...).
"""

from __future__ import annotations

import shutil
import subprocess

# Longest symbols first; stress and length marks are dropped before mapping.
IPA_TO_ARPABET = {
    "tʃ": "CH", "dʒ": "JH", "eɪ": "EY", "aɪ": "AY", "aʊ": "AW", "oʊ": "OW", "ɔɪ": "OY", "əʊ": "OW",
    "ɪə": "IH R", "eə": "EH R", "ʊə": "UH R", "ɜːɹ": "ER", "ɑːɹ": "AA R", "ɔːɹ": "AO R",
    "iː": "IY", "uː": "UW", "ɑː": "AA", "ɔː": "AO", "ɜː": "ER", "ɚ": "ER", "ɝ": "ER",
    "i": "IY", "ɪ": "IH", "ᵻ": "IH", "e": "EH", "ɛ": "EH", "æ": "AE", "a": "AE", "ʌ": "AH", "ə": "AH",
    "ɐ": "AH", "ɑ": "AA", "ɒ": "AA", "ɔ": "AO", "o": "OW", "ʊ": "UH", "u": "UW",
    "p": "P", "b": "B", "t": "T", "d": "D", "k": "K", "ɡ": "G", "g": "G", "f": "F", "v": "V",
    "θ": "TH", "ð": "DH", "s": "S", "z": "Z", "ʃ": "SH", "ʒ": "ZH", "h": "HH", "m": "M", "n": "N",
    "ŋ": "NG", "l": "L", "ɫ": "L", "ɹ": "R", "r": "R", "ɾ": "D", "j": "Y", "w": "W", "ʔ": "T",
    "x": "K", "ç": "HH",
}
_DROP = "ˈˌːˑ̩‿ -.'\u0303\u0329"


def ipa_to_arpabet(ipa: str) -> str:
    ipa = "".join(ch for ch in ipa if ch not in "ˈˌ")
    phones: list[str] = []
    i = 0
    keys = sorted(IPA_TO_ARPABET, key=len, reverse=True)
    while i < len(ipa):
        for key in keys:
            if ipa.startswith(key, i):
                phones.append(IPA_TO_ARPABET[key])
                i += len(key)
                break
        else:
            if ipa[i] not in _DROP:
                pass  # an unmapped symbol: skip it rather than invent a phone
            i += 1
    return " ".join(phones)


def espeak_pronunciation(word: str, voice: str = "en-us") -> str | None:
    """ARPAbet phones for ``word`` via espeak-ng, or None when espeak-ng is missing or fails."""
    exe = shutil.which("espeak-ng") or shutil.which("espeak")
    if not exe:
        return None
    try:
        done = subprocess.run([exe, "-q", "--ipa", "-v", voice, word], capture_output=True, text=True,
                              timeout=10)
    except (OSError, subprocess.SubprocessError, UnicodeDecodeError):  # broken install, hung: no pronunciation
        return None
    if done.returncode != 0:
        return None
    out = done.stdout.strip()
    phones = ipa_to_arpabet(out)
    return phones or None
