from guestpatch.main import main

main()
