from voicecoach.vocabulary import Vocabulary, expand_template


def test_templates_expand_options_and_choices():
    assert expand_template("[a bit] better") == ["a bit better", "better"]
    assert expand_template("(much|a bit) worse") == ["a bit worse", "much worse"]


def test_synonyms_map_to_intents(vocabulary):
    rating = vocabulary.intents_for("rating")
    assert vocabulary.match("About the same.", rating) == "same"
    assert vocabulary.match("no change", rating) == "same"
    assert vocabulary.match("Much worse!", rating) == "worse"
    assert vocabulary.match("a bit better", rating) == "better"
    assert vocabulary.match("next", rating) == "skip"
    assert vocabulary.match("how long is left", rating) == "time_left"


def test_no_guessing_from_partial_matches(vocabulary):
    rating = vocabulary.intents_for("rating")
    assert vocabulary.match("not better", rating) is None
    assert vocabulary.match("better coffee please", rating) is None
    assert vocabulary.match("yes", rating) is None  # not an answer to a rating question


def test_safety_words_are_heard_in_every_context(vocabulary):
    for context in vocabulary.contexts:
        intents = vocabulary.intents_for(context)
        assert {"stop", "pain", "worse", "pause"} <= set(intents), context


def test_routine_names_become_start_intents(library, vocabulary):
    v = vocabulary.with_routines(library.spoken_names())
    menu = v.intents_for("menu")
    assert v.match("start hip stretches", menu) == "start:hip-stretches"
    assert v.match("hip stretches", menu) == "start:hip-stretches"
    assert v.match("let's do nerve glides", menu) == "start:nerve-glides"
    assert v.match("start the full program", menu) == "start:full-program"
