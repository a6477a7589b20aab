"""Natural-language processing: normalisation, sentiment, indicators, training."""
