"""Tests of the cookiecutter template: bake every combination, lint it, run it, build it."""
