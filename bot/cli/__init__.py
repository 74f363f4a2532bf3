"""The `investbot` command: the click group and its commands (main.py), what they share (context.py), the
question-log commands (questions.py) and the model line every command starts with (model_status.py)."""
