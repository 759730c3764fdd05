print("stocksim")
