"""What Nanda et al. (2023) report for their own run, and what the later papers the
"Beyond the paper" chapter tests report: the numbers the chapters compare with.

Each constant gives where its paper states it (Nanda et al.'s sections were re-checked
against the paper's text). Nothing here is computed; the chapters glue these values
beside this book's own measurements.
"""

KEY_FREQUENCIES = (14, 35, 41, 42, 52)  # the mainline model's key frequencies (section 4.1, Fig. 3a)
EXPLAINED_NEURONS = 433  # of D_MLP neurons, with more than 85% of their variance in one frequency (section 4.3)
D_MLP = 512
MODEL_LOSS = 2.4e-7  # the model's loss, and the loss of its sum-of-cosines approximation (section 4.2)
COS_FIT_LOSS = 4.7e-8
PHASE_BOUNDARIES = (1_400, 9_400, 14_000)  # memorisation ends, clean-up starts, clean-up ends (section 5.2)

# Zhong et al. 2023, "The Clock and the Pizza" (arXiv 2306.17844)
PIZZA_MODEL_SYMMETRICITY = 0.9937  # their Model A (constant attention): "99.37%" (section 4.1.1)
CLOCK_MODEL_SYMMETRICITY = 0.3336  # their Model B (standard attention): "33.36%" (section 4.1.1)
PIZZA_MODEL_IRRELEVANCE = 0.17  # Model A's distance irrelevance (section 4.1.2)
CLOCK_MODEL_IRRELEVANCE = 0.85  # Model B's (section 4.1.2)
SYMMETRIC_ABOVE = 0.98  # Fig. 7's classification: gradient symmetricity > 98% ...
IRRELEVANT_BELOW = 0.6  # ... and distance irrelevance < 0.6 (the caption)
PIZZA_P = 59  # their modulus (appendix F.1)
PIZZA_TRAIN_SHARE = 0.8  # "randomly select 80% as training samples" (appendix F.1)

# Lee et al. 2024, "Grokfast" (arXiv 2405.20233)
GROKFAST_SPEEDUP = 50  # "more than x 50" (abstract)
