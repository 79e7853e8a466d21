"""Usage metrics priced in dollars: unit rates learnt from CUR, detection, pricing."""
