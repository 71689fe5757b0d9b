"""Runs on disk: the file format (:mod:`.store`) and loading a finished run (:mod:`.load`)."""
