"""The 50 tags of each musicnn model, in the order of its outputs (from musicnn 0.1.0's configuration)."""

#: Tag names by training set: MagnaTagATune (``MTT_*`` models) and the Million Song Dataset (``MSD_*``).
LABELS = {
    "MTT": (
        "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast",
        "piano", "ambient", "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male",
        "singing", "vocals", "no vocals", "harpsichord", "loud", "quiet", "flute", "woman",
        "male vocal", "no vocal", "pop", "soft", "sitar", "solo", "man", "classic", "choir",
        "voice", "new age", "dance", "male voice", "female vocal", "beats", "harp", "cello",
        "no voice", "weird", "country", "metal", "female voice", "choral",
    ),
    "MSD": (
        "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s",
        "alternative rock", "jazz", "beautiful", "metal", "chillout", "male vocalists",
        "classic rock", "soul", "indie rock", "Mellow", "electronica", "80s", "folk", "90s",
        "chill", "instrumental", "punk", "oldies", "blues", "hard rock", "ambient", "acoustic",
        "experimental", "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country",
        "easy listening", "sexy", "catchy", "funk", "electro", "heavy metal", "Progressive rock",
        "60s", "rnb", "indie pop", "sad", "House", "happy",
    ),
}


def column_names(model: str) -> list[str]:
    """The tags of ``model`` as parts of column names: lower case, ``[a-z0-9_]`` (``no_vocals``, ``hip_hop``)."""
    import re

    return [re.sub(r"[^a-z0-9]+", "_", t.lower()).strip("_") for t in LABELS[model.split("_")[0]]]
