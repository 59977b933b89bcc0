def add_ratios(frame):
    frame = frame.copy()
    frame["claim_ratio"] = frame.claimed / frame.insured
    return frame
