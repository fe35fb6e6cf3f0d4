"""The learner's journey and the one learning workflow: lesson done, quiz handed in, content
published → what it completes → the record → what is owed (see workflow.py)."""
