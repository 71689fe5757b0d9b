"""What Nanda et al. (2023) report for their own run: the numbers the chapters compare with.

Each constant gives where the paper states it (the sections were re-checked against the
paper's text). Nothing here is computed; the chapters glue these values beside this
book's own measurements.
"""

KEY_FREQUENCIES = (14, 35, 41, 42, 52)  # the mainline model's key frequencies (section 4.1, Fig. 3a)
EXPLAINED_NEURONS = 433  # of D_MLP neurons, with more than 85% of their variance in one frequency (section 4.3)
D_MLP = 512
MODEL_LOSS = 2.4e-7  # the model's loss, and the loss of its sum-of-cosines approximation (section 4.2)
COS_FIT_LOSS = 4.7e-8
PHASE_BOUNDARIES = (1_400, 9_400, 14_000)  # memorisation ends, clean-up starts, clean-up ends (section 5.2)
