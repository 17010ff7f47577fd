"""Where the real data sets for tests live (../shared/data beside the repository); tests that
need them skip when they are absent."""
import os

SHARED_DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
