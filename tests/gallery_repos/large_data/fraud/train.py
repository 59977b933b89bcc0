import pandas as pd

frame = pd.read_parquet('data/raw/transactions.parquet')
