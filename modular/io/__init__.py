"""Getting audio in and out: sound card, software clock, offline render, WAV files."""
