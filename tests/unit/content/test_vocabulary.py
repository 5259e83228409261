from voicecoach.content.vocabulary import Vocabulary, expand_template


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


def test_transcripts_are_read_as_the_phrases_are_written(vocabulary):
    pain = vocabulary.intents_for("pain")
    assert vocabulary.match("3", pain) == "score:3"          # typed or transcribed digits
    assert vocabulary.match("10.", pain) == "score:10"
    assert vocabulary.match("Too.", pain) == "score:2"       # a sound-alike where a number is expected
    assert vocabulary.match("For!", pain) is None            # the room's talk, not a score
    assert vocabulary.match("to", pain) is None
    assert vocabulary.match("11", pain) is None              # not on the scale: no guess
    assert vocabulary.match("No.", vocabulary.intents_for("yesno")) == "no"


def test_sound_alikes_apply_only_where_their_word_is_expected(vocabulary):
    rating = vocabulary.intents_for("rating")
    assert vocabulary.read("Too", rating) == "too"           # no number is expected here
    assert vocabulary.match("to", rating) is None
    assert vocabulary.match("ate", vocabulary.intents_for("yesno")) is None
    assert "to" not in vocabulary.reading(vocabulary.intents_for("yesno"))


def test_a_huge_number_is_just_no_match(vocabulary):
    assert vocabulary.match("9" * 5000, vocabulary.intents_for("pain")) is None  # int() of it would fail


def test_no_answer_is_shadowed_by_a_command_in_any_context(library, vocabulary):
    """Every phrase of a context's own answers is heard as that answer there, never as a
    command with the same words ("back" where the pain reaches is the place, not "go back")."""
    v = vocabulary.with_routines(library.spoken_names())
    for context in v.contexts:
        intents = v.intents_for(context)
        for answer in v.answers_for(context):
            for phrase in v.phrases[answer]:
                assert v.match(phrase, intents) == answer, (context, phrase)


def test_back_answers_where_the_pain_reaches_and_go_back_is_the_command(vocabulary):
    location = vocabulary.intents_for("location")
    assert vocabulary.match("back", location) == "location:back"
    assert vocabulary.match("Back.", location) == "location:back"
    assert vocabulary.match("go back", location) == "back"
    assert vocabulary.match("back", vocabulary.intents_for("rating")) == "back"  # a command elsewhere
