import boto3
import pandas as pd
from xgboost import XGBClassifier

from config import AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, BUCKET

s3 = boto3.client(
    "s3", aws_access_key_id=AWS_ACCESS_KEY_ID, aws_secret_access_key=AWS_SECRET_ACCESS_KEY
)
frame = pd.read_csv(f"s3://{BUCKET}/train.csv")
model = XGBClassifier().fit(frame.drop(columns="y"), frame["y"])
model.save_model("model.json")
