"""Where the NLP layer finds shipped data (lexicons, slang, taxonomy, the offline model)."""

from pathlib import Path

# The project is installed editable (`pip install -e .`), so data/ sits beside the packages.
DATA_DIR = Path(__file__).resolve().parent.parent / "data"
