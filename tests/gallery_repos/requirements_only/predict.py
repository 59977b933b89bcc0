import sys

from xgboost import XGBClassifier

model = XGBClassifier()
model.load_model("model.json")
print(model.predict([[float(v) for v in sys.argv[1:]]]))
