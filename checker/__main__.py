from checker.console import main

main()
